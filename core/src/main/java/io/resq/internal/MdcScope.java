package io.resq.internal;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.MDC;

/**
 * Puts a message's identity into SLF4J's MDC for the time a worker handles it, and puts back
 * what was there before. Not public API; the keys are documented in docs/observability.md.
 *
 * <p>Threads: opened and closed on the same worker thread (MDC is per thread).
 */
public final class MdcScope implements AutoCloseable {

    /** The message id. */
    public static final String MESSAGE_ID = "resq.message.id";
    /** The queue the message was received from. */
    public static final String QUEUE = "resq.queue";
    /** The consumer group, when one was named. */
    public static final String GROUP = "resq.group";
    /** The delivery attempt, 1 on the first delivery. */
    public static final String ATTEMPT = "resq.attempt";

    private final Map<String, String> previous = new HashMap<>(4);

    private MdcScope() {
    }

    /** Sets the four keys ({@code group} may be {@code null}: the key is then removed). */
    public static MdcScope open(String messageId, String queue, String group, int attempt) {
        MdcScope scope = new MdcScope();
        scope.put(MESSAGE_ID, messageId);
        scope.put(QUEUE, queue);
        scope.put(GROUP, group);
        scope.put(ATTEMPT, Integer.toString(attempt));
        return scope;
    }

    private void put(String key, String value) {
        previous.put(key, MDC.get(key));
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }

    /** Restores the values the keys had before. */
    @Override
    public void close() {
        previous.forEach((key, value) -> {
            if (value == null) {
                MDC.remove(key);
            } else {
                MDC.put(key, value);
            }
        });
    }
}
