package io.resq.rabbitmq;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sends to one queue: persistent, mandatory publishes with publisher confirms. A delayed message
 * goes through the shared delay levels ({@link DelayTopology}), from which it expires into the queue.
 *
 * <p>Thread-safe and stateless apart from its transport; publishing runs on the caller's thread
 * (a socket write), confirmation is awaited asynchronously.
 */
final class RabbitSender implements Sender {

    private final RabbitMqTransport transport;
    private final String queue;

    RabbitSender(RabbitMqTransport transport, String queue) {
        this.transport = transport;
        this.queue = queue;
    }

    @Override
    public CompletableFuture<Void> send(List<Outbound> messages) {
        if (messages == null) {
            return CompletableFuture.failedFuture(new NullPointerException("messages must not be null"));
        }
        try {
            transport.checkCanPublish(queue);
            // Cached after the first time; declares again after a publish found the queue missing.
            transport.topology().ensureQueue(queue);
            int limit = transport.maxBodySize();
            List<PublisherChannel.Publish> publishes = new ArrayList<>(messages.size());
            for (Outbound m : messages) {
                if (m.body().length > limit) {
                    throw new IllegalArgumentException("message " + m.id() + " has a body of " + m.body().length
                            + " bytes, over the limit of " + limit + " bytes of " + transport.endpoint()
                            + " (its max_message_size; see RabbitMqTransport.Builder.maxBodySize)");
                }
                publishes.add(publish(m));
            }
            if (publishes.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            // Each confirm future fails by itself on a nack, a return, a lost channel or the
            // confirm timeout (the transport's timer sweeps overdue ones), so nothing here can hang.
            List<CompletableFuture<Void>> confirms = transport.publishers().next().publish(publishes);
            return confirms.size() == 1 ? confirms.get(0).copy() : CompletableFuture.allOf(confirms.toArray(CompletableFuture[]::new));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private PublisherChannel.Publish publish(Outbound m) {
        if (m.delay().isZero()) {
            return PublisherChannel.Publish.direct(queue, m.id(), AmqpMapping.properties(m), m.body());
        }
        // Declared with the queue; again here only if a delayed publish found the levels missing.
        transport.topology().ensureDelays();
        long millis = DelayLevels.round(m.delay());
        return new PublisherChannel.Publish(DelayTopology.entry(), DelayLevels.routingKey(millis, queue), queue, m.id(),
                AmqpMapping.properties(m), m.body());
    }

    @Override
    public String toString() {
        return "RabbitSender[" + queue + "]";
    }
}
