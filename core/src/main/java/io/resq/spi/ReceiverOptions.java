package io.resq.spi;

import java.util.Objects;

/**
 * How a {@link Receiver} consumes.
 *
 * <p>There is no default group shared by unrelated applications. When none was named, a transport
 * with {@link Capability#CONSUMER_GROUPS} uses the group of its own client configuration (Kafka's
 * {@code group.id}) or refuses with {@link #noGroup(String, String)}; a transport without groups
 * ignores the group.
 *
 * @param group    the consumer group, or {@code null} when the application named none; receivers of
 *                 one group share messages
 * @param prefetch how many unsettled deliveries the broker may push ahead (>= 1)
 */
public record ReceiverOptions(String group, int prefetch) {

    /** The prefetch used when none is given. */
    public static final int DEFAULT_PREFETCH = 16;

    /** Validates the arguments. */
    public ReceiverOptions {
        if (group != null && group.isBlank()) {
            throw new IllegalArgumentException("group must not be blank");
        }
        if (prefetch < 1) {
            throw new IllegalArgumentException("prefetch must be >= 1, was " + prefetch);
        }
    }

    /** No group named, the default prefetch. */
    public static ReceiverOptions defaults() {
        return new ReceiverOptions(null, DEFAULT_PREFETCH);
    }

    /** The given group with the default prefetch. */
    public static ReceiverOptions group(String group) {
        return new ReceiverOptions(Objects.requireNonNull(group, "group must not be null"), DEFAULT_PREFETCH);
    }

    /**
     * The error of a transport with consumer groups asked to receive {@code queue} with no group
     * named and none configured: it says what to call.
     */
    public static IllegalStateException noGroup(String transport, String queue) {
        return new IllegalStateException("no consumer group for queue '" + queue + "' on " + transport
                + ": name one with processor(...).group(\"my-service\") or queues.dequeue(queue, type, \"my-service\")"
                + (transport.startsWith("Kafka") ? ", or set group.id in the Kafka configuration" : "")
                + ". Applications that use the same group share the queue's messages; each other group gets every message");
    }

    /** A copy with another prefetch. */
    public ReceiverOptions withPrefetch(int newPrefetch) {
        return new ReceiverOptions(group, newPrefetch);
    }
}
