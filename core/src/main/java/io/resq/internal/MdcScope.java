package io.resq.internal;

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

    /** The attempt numbers most messages have, as text made once. */
    private static final String[] ATTEMPTS = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

    // What the keys held before, in fields rather than a map: one scope is opened per handled message.
    private final String previousId;
    private final String previousQueue;
    private final String previousGroup;
    private final String previousAttempt;

    private MdcScope(String messageId, String queue, String group, String attempt) {
        previousId = swap(MESSAGE_ID, messageId);
        previousQueue = swap(QUEUE, queue);
        previousGroup = swap(GROUP, group);
        previousAttempt = swap(ATTEMPT, attempt);
    }

    /** Sets the four keys ({@code group} may be {@code null}: the key is then removed). */
    public static MdcScope open(String messageId, String queue, String group, int attempt) {
        return new MdcScope(messageId, queue, group, attempt >= 0 && attempt < ATTEMPTS.length ? ATTEMPTS[attempt] : Integer.toString(attempt));
    }

    /** Puts {@code value} under {@code key} ({@code null} removes it) and returns what was there. */
    private static String swap(String key, String value) {
        String before = MDC.get(key);
        set(key, value);
        return before;
    }

    private static void set(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }

    /** Restores the values the keys had before. */
    @Override
    public void close() {
        set(MESSAGE_ID, previousId);
        set(QUEUE, previousQueue);
        set(GROUP, previousGroup);
        set(ATTEMPT, previousAttempt);
    }
}
