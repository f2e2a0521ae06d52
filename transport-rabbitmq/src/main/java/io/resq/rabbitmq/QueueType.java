package io.resq.rabbitmq;

/**
 * The kind of RabbitMQ queue the transport declares for the queues it creates.
 *
 * <p>{@link #QUORUM} is the default and the safe choice for production: the queue is replicated
 * (Raft), it counts deliveries ({@code x-delivery-count}), and its delay queues dead-letter
 * at-least-once. {@link #CLASSIC} is lighter on a single node and is what older setups use; its
 * delay queues dead-letter at-most-once (a broker crash at the instant a delayed message expires
 * can drop it), and it only knows whether a message was redelivered, not how often.
 */
public enum QueueType {
    /** Replicated, delivery-counting queues ({@code x-queue-type=quorum}). The default. */
    QUORUM("quorum"),
    /** Classic queues ({@code x-queue-type=classic}). */
    CLASSIC("classic");

    private final String argument;

    QueueType(String argument) {
        this.argument = argument;
    }

    /** The value of the {@code x-queue-type} argument. */
    String argument() {
        return argument;
    }
}
