package io.resq.spi;

import java.util.Objects;

/**
 * How a {@link Receiver} consumes.
 *
 * @param group    the consumer group; receivers of one group share messages
 * @param prefetch how many unsettled deliveries the broker may push ahead (>= 1)
 */
public record ReceiverOptions(String group, int prefetch) {

    /** The group used when none is named. */
    public static final String DEFAULT_GROUP = "resq";
    /** The prefetch used when none is given. */
    public static final int DEFAULT_PREFETCH = 16;

    /** Validates the arguments. */
    public ReceiverOptions {
        Objects.requireNonNull(group, "group must not be null");
        if (group.isBlank()) {
            throw new IllegalArgumentException("group must not be blank");
        }
        if (prefetch < 1) {
            throw new IllegalArgumentException("prefetch must be >= 1, was " + prefetch);
        }
    }

    /** The default group and prefetch. */
    public static ReceiverOptions defaults() {
        return new ReceiverOptions(DEFAULT_GROUP, DEFAULT_PREFETCH);
    }

    /** The given group with the default prefetch. */
    public static ReceiverOptions group(String group) {
        return new ReceiverOptions(group, DEFAULT_PREFETCH);
    }

    /** A copy with another prefetch. */
    public ReceiverOptions withPrefetch(int newPrefetch) {
        return new ReceiverOptions(group, newPrefetch);
    }
}
