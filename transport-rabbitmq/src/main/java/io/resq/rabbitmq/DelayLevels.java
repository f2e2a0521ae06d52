package io.resq.rabbitmq;

import java.time.Duration;

/**
 * The arithmetic of the shared delay topology: binary delay levels.
 *
 * <p>Level {@code i} is a queue whose messages wait {@code 2^i} ms. A delay is rounded up to at
 * most {@link #SIGNIFICANT_BITS} significant bits and then spelled in binary: the message passes
 * through the level queue of every set bit, highest first, and skips the others. So it waits
 * exactly the rounded delay, never less than asked, at most 1/8 more, in at most four hops.
 *
 * <p>The routing key carries the bits, one word per level from the highest down, then the target
 * queue: {@code 0.0.…1.0.1.orders}. Each level's topic exchange routes on its own word, so the
 * key needs nothing else on the way. Pure functions; thread-safe.
 */
final class DelayLevels {

    /** Levels 0 (1 ms) to 31 (2^31 ms, about 24.9 days). */
    static final int LEVELS = 32;
    /** How many leading bits of a delay are kept; the rest is rounded up. */
    static final int SIGNIFICANT_BITS = 4;
    /**
     * The longest delay: 0xF000_0000 ms = 4,026,531,840 ms, about 46.6 days. Every shorter delay
     * rounds up to at most this, which the 32 levels can spell.
     */
    static final long MAX_DELAY_MILLIS = 0xF000_0000L;
    /** What the routing key adds to the queue name: a one-character word and a dot per level. */
    static final int KEY_PREFIX_LENGTH = 2 * LEVELS;

    private DelayLevels() {
    }

    /**
     * {@code delay} in whole milliseconds, rounded up to {@link #SIGNIFICANT_BITS} significant bits.
     *
     * @throws IllegalArgumentException if it is longer than {@link #MAX_DELAY_MILLIS}, or not positive
     */
    static long round(Duration delay) {
        if (delay.isNegative() || delay.isZero()) {
            throw new IllegalArgumentException("delay must be > 0, was " + delay);
        }
        if (delay.compareTo(Duration.ofMillis(MAX_DELAY_MILLIS)) > 0) {
            throw new IllegalArgumentException("delay must be <= " + MAX_DELAY_MILLIS
                    + " ms (about 46 days, the longest the RabbitMQ transport's delay levels can hold), was " + delay);
        }
        long nanos = delay.toNanos();
        long ms = Math.max(1, nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1));
        int highest = 63 - Long.numberOfLeadingZeros(ms);
        if (highest < SIGNIFICANT_BITS) {
            return ms;
        }
        long granularity = 1L << (highest - SIGNIFICANT_BITS + 1);
        return (ms + granularity - 1) / granularity * granularity;
    }

    /** The routing key that takes a message through the levels of {@code roundedMillis} into {@code queue}. */
    static String routingKey(long roundedMillis, String queue) {
        StringBuilder key = new StringBuilder(KEY_PREFIX_LENGTH + queue.length());
        for (int level = LEVELS - 1; level >= 0; level--) {
            key.append((roundedMillis >>> level & 1) == 1 ? '1' : '0').append('.');
        }
        return key.append(queue).toString();
    }

    /** How many level queues a message of {@code roundedMillis} passes through. */
    static int hops(long roundedMillis) {
        return Long.bitCount(roundedMillis);
    }

    /** The binding key on level {@code level}'s exchange for messages whose bit there is {@code bit}. */
    static String levelBinding(int level, int bit) {
        return "*.".repeat(LEVELS - 1 - level) + bit + ".#";
    }

    /** The binding key that takes a message out of the last level into {@code queue}, and only that queue. */
    static String deliveryBinding(String queue) {
        return "*.".repeat(LEVELS) + queue;
    }

    /**
     * Why {@code queue} cannot take delayed messages, or {@code null}: a word ({@code .}-separated)
     * that is {@code *} or {@code #} would be a wildcard in its delivery binding and catch other
     * queues' messages.
     */
    static String unsupportedName(String queue) {
        for (String word : queue.split("\\.", -1)) {
            if (word.equals("*") || word.equals("#")) {
                return "queue '" + queue + "' has a '" + word + "' between dots, which RabbitMQ's topic routing "
                        + "reads as a wildcard (the transport routes delayed messages by topic); rename the queue";
            }
        }
        return null;
    }
}
