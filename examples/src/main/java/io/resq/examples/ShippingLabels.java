package io.resq.examples;

import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Stands for the callback a team already has: a plain {@code Consumer<Order>} that a hand-written
 * poll loop calls for each record. It knows nothing about resq and is used unchanged by
 * {@link WrapExistingConsumer}. Like real code it fails now and then: the printer jams on the
 * first try of every order over 100.
 */
final class ShippingLabels implements Consumer<Order> {

    private final PrintStream out;
    private final Set<Long> jammedOnce = ConcurrentHashMap.newKeySet();

    ShippingLabels(PrintStream out) {
        this.out = out;
    }

    @Override
    public void accept(Order order) {
        if (order.amount().intValue() > 100 && jammedOnce.add(order.id())) {
            throw new IllegalStateException("label printer jammed");
        }
        out.printf("   label printed for order %d (%s)%n", order.id(), order.customer());
    }
}
