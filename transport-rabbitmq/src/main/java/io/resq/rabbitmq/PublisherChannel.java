package io.resq.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.Return;
import com.rabbitmq.client.ShutdownSignalException;
import io.resq.ResqException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;

/**
 * One channel in publisher-confirm mode, with its confirmations tracked asynchronously: each
 * publish gets a future that completes when the broker acks its sequence number, and fails when
 * the broker nacks it, returns it as unroutable (published mandatory), or the channel goes down.
 *
 * <p>Threads: publishing threads take {@link #publishLock} so that sequence numbers and frames of
 * one channel are never interleaved (the client forbids concurrent publishing on a channel).
 * Confirms, returns and shutdown are reported on the connection's thread, in the order the broker
 * sent them (a return always precedes the ack of the same message); {@link #pending} is the only
 * state they share with publishers, and it is a concurrent map.
 */
final class PublisherChannel {

    /** One unconfirmed publish (without its body, which need not live until the confirm). */
    private record Pending(String exchange, String routingKey, String queue, String id, CompletableFuture<Void> future,
            long deadlineNanos) {
        boolean delayed() {
            return !exchange.isEmpty();
        }
    }

    /**
     * One message to publish to {@code exchange} with {@code routingKey}, bound for {@code queue}:
     * the default exchange and the queue's name, or a delay level and a delay routing key.
     */
    record Publish(String exchange, String routingKey, String queue, String id, AMQP.BasicProperties properties, byte[] body) {
        /** A message straight to {@code queue} through the default exchange. */
        static Publish direct(String queue, String id, AMQP.BasicProperties properties, byte[] body) {
            return new Publish("", queue, queue, id, properties, body);
        }

        boolean delayed() {
            return !exchange.isEmpty();
        }
    }

    private final Channel channel;
    private final Endpoint endpoint;
    private final BiConsumer<String, Boolean> onUnroutable;
    private final Duration confirmTimeout;
    private final Object publishLock = new Object();
    private final ConcurrentNavigableMap<Long, Pending> pending = new ConcurrentSkipListMap<>();

    PublisherChannel(Connection connection, Endpoint endpoint, Duration confirmTimeout, BiConsumer<String, Boolean> onUnroutable)
            throws IOException {
        this.endpoint = endpoint;
        this.confirmTimeout = confirmTimeout;
        this.onUnroutable = onUnroutable;
        this.channel = connection.createChannel();
        if (channel == null) {
            throw new IOException("no free channel on the connection to " + endpoint);
        }
        channel.confirmSelect();
        channel.addConfirmListener(this::acked, this::nacked);
        channel.addReturnListener(this::returned);
        // With automatic recovery the channel comes back with fresh sequence numbers; whatever was
        // unconfirmed when it went down is failed here, so that senders retry it.
        channel.addShutdownListener(this::shutdown);
    }

    /** Publishes the messages (mandatory) and returns one future per message. */
    List<CompletableFuture<Void>> publish(List<Publish> messages) {
        List<CompletableFuture<Void>> futures = new ArrayList<>(messages.size());
        long deadline = System.nanoTime() + confirmTimeout.toNanos();
        synchronized (publishLock) {
            for (Publish m : messages) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                futures.add(f);
                long seq = channel.getNextPublishSeqNo();
                pending.put(seq, new Pending(m.exchange(), m.routingKey(), m.queue(), m.id(), f, deadline));
                try {
                    channel.basicPublish(m.exchange(), m.routingKey(), true, m.properties(), m.body());
                } catch (IOException | RuntimeException e) {
                    pending.remove(seq);
                    f.completeExceptionally(new ResqException("cannot publish message " + m.id() + " to queue '"
                            + m.queue() + "' on " + endpoint + ": " + Errors.describe(e), e));
                }
            }
        }
        return futures;
    }

    /**
     * Fails the publishes whose confirm is overdue. Sequence numbers grow with time, so the scan
     * stops at the first entry still within its deadline. Called by the transport's timer thread;
     * one sweep per second instead of one timer per message keeps the send path cheap.
     */
    void expire(long nowNanos) {
        for (Map.Entry<Long, Pending> e : pending.entrySet()) {
            Pending p = e.getValue();
            if (p.deadlineNanos() - nowNanos > 0) {
                return;
            }
            if (pending.remove(e.getKey(), p)) {
                p.future().completeExceptionally(new ResqException("no publisher confirm from " + endpoint + " within "
                        + confirmTimeout + " for message " + p.id() + " to queue '" + p.queue() + "'"));
            }
        }
    }

    private void acked(long tag, boolean multiple) {
        settle(tag, multiple, null);
    }

    private void nacked(long tag, boolean multiple) {
        settle(tag, multiple, "the broker refused the message (basic.nack)");
    }

    private void settle(long tag, boolean multiple, String refusal) {
        Map<Long, Pending> done = multiple ? pending.headMap(tag, true) : single(tag);
        for (Map.Entry<Long, Pending> e : List.copyOf(done.entrySet())) {
            pending.remove(e.getKey());
            Pending p = e.getValue();
            if (refusal == null) {
                p.future().complete(null);
            } else {
                p.future().completeExceptionally(new ResqException("message " + p.id() + " to queue '" + p.queue()
                        + "' was not stored by " + endpoint + ": " + refusal));
            }
        }
    }

    private Map<Long, Pending> single(long tag) {
        Pending p = pending.get(tag);
        return p == null ? Map.of() : Map.of(tag, p);
    }

    private void returned(Return r) {
        String id = r.getProperties().getMessageId();
        for (Pending m : pending.values()) {
            if (!m.future().isDone() && m.exchange().equals(r.getExchange()) && m.routingKey().equals(r.getRoutingKey())
                    && m.id().equals(id)) {
                // Forget the queue (or the delay levels) first, so that a sender retrying on the
                // failed future declares it again.
                onUnroutable.accept(m.queue(), m.delayed());
                m.future().completeExceptionally(new ResqException("message " + id + " is unroutable: "
                        + (m.delayed() ? "the delay exchange " + m.exchange() + " has no route" : "queue '" + m.queue()
                        + "' does not exist") + " on " + endpoint + " (" + r.getReplyCode() + " " + r.getReplyText() + ")"));
                return;
            }
        }
        onUnroutable.accept(r.getRoutingKey(), !r.getExchange().isEmpty());
    }

    private void shutdown(ShutdownSignalException cause) {
        // 404 on a delayed publish: a delay exchange was deleted; declare the levels again.
        boolean levelsMissing = Errors.replyCode(cause) == 404;
        for (Long seq : List.copyOf(pending.keySet())) {
            Pending p = pending.remove(seq);
            if (p != null) {
                if (levelsMissing && p.delayed()) {
                    onUnroutable.accept(p.queue(), true);
                }
                p.future().completeExceptionally(new ResqException("no confirm for message " + p.id() + " to queue '"
                        + p.queue() + "': the channel to " + endpoint + " closed (" + Errors.describe(cause) + ")", cause));
            }
        }
    }

    /** False once the channel was closed for good (a channel error, or close); not while the connection recovers. */
    boolean isClosedForGood(Connection connection) {
        return !channel.isOpen() && connection.isOpen();
    }

    void close() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
            // Closing anyway: the shutdown listener fails what was unconfirmed.
        }
    }
}
