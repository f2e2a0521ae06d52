package io.resq.examples;

import io.resq.ProcessingException;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A pretend payment gateway for the quick start: each customer's calls follow a script of
 * outcomes, one per call, and succeed once the script is used up. That makes every failure in the
 * quick start happen on purpose and in a known order.
 */
final class ScriptedGateway implements PaymentGateway {

    /** What one call does. */
    enum Outcome {
        /** Throws {@link IllegalStateException}: recorded with status 500. */
        DOWN,
        /** Hangs until interrupted: the processor's timeout records status 504. */
        HANGS,
        /** Throws {@link ProcessingException} with status 402. */
        DECLINED
    }

    private final Map<String, Deque<Outcome>> scripts = new ConcurrentHashMap<>();

    /** Makes the next calls for {@code customer} go as {@code outcomes} say, then succeed. */
    ScriptedGateway script(String customer, Outcome... outcomes) {
        scripts.put(customer, new ConcurrentLinkedDeque<>(Arrays.asList(outcomes)));
        return this;
    }

    @Override
    public void charge(String customer, BigDecimal amount) throws Exception {
        Deque<Outcome> script = scripts.get(customer);
        Outcome next = script == null ? null : script.poll();
        if (next == null) {
            return;
        }
        switch (next) {
            case DOWN -> throw new IllegalStateException("payment gateway down");
            case HANGS -> Thread.sleep(60_000); // the processor's timeout interrupts this
            case DECLINED -> throw new ProcessingException(402, "card declined");
        }
    }
}
