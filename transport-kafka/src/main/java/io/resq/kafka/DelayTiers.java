package io.resq.kafka;

import java.util.ArrayList;
import java.util.List;

/**
 * The retry topics of one retry-topic name, by delay. Records of a retry topic are read in order
 * per partition, and one that is not due holds back the partition behind it; so a long delay goes
 * to a topic of its own tier, where it holds back only records with delays of the same tier:
 * <ul>
 *   <li>under {@value #SHORT_MS} ms: the base topic ({@code <topic>_retry-<group>}), where a record
 *       waits at most {@value #SHORT_MS} ms behind an earlier one with a longer delay;</li>
 *   <li>from {@value #SHORT_MS} ms to under {@value #MEDIUM_MS} ms: {@code <base>-10s}, at most
 *       {@value #MEDIUM_MS} ms less {@value #SHORT_MS} ms behind;</li>
 *   <li>from {@value #MEDIUM_MS} ms on: {@code <base>-5m}, behind any earlier longer delay.</li>
 * </ul>
 * A zero delay (a group's copy due now) goes to the base topic.
 */
final class DelayTiers {

    static final long SHORT_MS = 10_000;
    static final long MEDIUM_MS = 300_000;
    private static final String MEDIUM_SUFFIX = "-10s";
    private static final String LONG_SUFFIX = "-5m";
    /** The longest suffix a tier adds to its base topic name. */
    static final int MAX_SUFFIX_LENGTH = 4;

    private DelayTiers() {
    }

    /** The retry topic of {@code base}'s tier for a record delayed by {@code delayMs}. */
    static String topicFor(String base, long delayMs) {
        if (delayMs < SHORT_MS) {
            return base;
        }
        return base + (delayMs < MEDIUM_MS ? MEDIUM_SUFFIX : LONG_SUFFIX);
    }

    /** Every tier topic of {@code base}, shortest first: what a receiver reads. */
    static List<String> all(String base) {
        List<String> out = new ArrayList<>(3);
        out.add(base);
        out.add(base + MEDIUM_SUFFIX);
        out.add(base + LONG_SUFFIX);
        return out;
    }
}
