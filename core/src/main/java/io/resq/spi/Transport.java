package io.resq.spi;

import java.time.Duration;
import java.util.Set;

/**
 * Moves bytes between the application and one broker. The core owns envelopes, codecs,
 * policies and channels; a transport only sends, receives, acks, releases and delays.
 *
 * <p>Implementations are thread-safe. {@link #close()} closes every sender and receiver the
 * transport handed out, releasing unsettled deliveries.
 */
public interface Transport extends AutoCloseable {

    /** What this transport can do beyond send, receive, ack and release. */
    Set<Capability> capabilities();

    /** A sender for {@code queue}, creating the queue if the transport is configured to. */
    Sender sender(String queue);

    /** A new receiver for {@code queue}. */
    Receiver receiver(String queue, ReceiverOptions options);

    /** Whether the broker answers now. Never throws. */
    Health health();

    /** The largest body the broker accepts, in bytes. */
    default int maxBodySize() {
        return Integer.MAX_VALUE;
    }

    /** What {@link #maxDelay()} returns when the transport sets no bound of its own. */
    Duration NO_DELAY_LIMIT = Duration.ofMillis(Long.MAX_VALUE);

    /**
     * The longest {@link Outbound#delay()} this transport can hold a message back for; a send that
     * asks for more is refused before it reaches the broker. The default is {@link #NO_DELAY_LIMIT}
     * for a transport with {@link Capability#DELAYED_DELIVERY} and zero for one without.
     */
    default Duration maxDelay() {
        return capabilities().contains(Capability.DELAYED_DELIVERY) ? NO_DELAY_LIMIT : Duration.ZERO;
    }

    /**
     * The consumer group a receiver opened with {@code requested} (which may be {@code null})
     * belongs to: the requested group, else the group of the transport's own client configuration
     * (Kafka's {@code group.id}), else {@code null}. The core addresses a processor's redelivery
     * copies to this group and records it on dead letters. The default returns {@code requested}.
     */
    default String effectiveGroup(String requested) {
        return requested;
    }

    /**
     * The prefetch of a processor running {@code concurrency} handlers when the application set
     * none. The default, max(16, 2 × concurrency), keeps every worker busy on brokers that fetch
     * in batches. A broker that takes back a message held unacknowledged too long (RabbitMQ's
     * {@code consumer_timeout}) returns less, so that a message does not wait in the buffer
     * behind many slow handler runs. Never below {@code concurrency} (the core raises it).
     */
    default int defaultPrefetch(int concurrency) {
        return Math.max(ReceiverOptions.DEFAULT_PREFETCH, 2 * concurrency);
    }

    /**
     * Checks, before a processor or dequeue starts receiving {@code queue}, the names of the queue
     * and of the dead-letter queue resq will write for it, so that a name the broker would refuse
     * fails at start and not at the first dead letter. Throws {@link IllegalArgumentException}
     * naming the queue and what to do. The default accepts every name.
     */
    default void checkQueues(String queue, String deadLetterQueue) {
    }

    /** Closes every sender and receiver and the client connections. Idempotent. */
    @Override
    void close();
}
