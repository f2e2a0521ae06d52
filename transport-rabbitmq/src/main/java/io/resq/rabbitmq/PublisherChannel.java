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
import java.util.function.Consumer;

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

    /** One unconfirmed publish. */
    private record Pending(String routingKey, String id, CompletableFuture<Void> future, long deadlineNanos) {
    }

    /** One message to publish. */
    record Publish(String routingKey, String id, AMQP.BasicProperties properties, byte[] body) {
    }

    private final Channel channel;
    private final Endpoint endpoint;
    private final Consumer<String> onUnroutable;
    private final Duration confirmTimeout;
    private final Object publishLock = new Object();
    private final ConcurrentNavigableMap<Long, Pending> pending = new ConcurrentSkipListMap<>();

    PublisherChannel(Connection connection, Endpoint endpoint, Duration confirmTimeout, Consumer<String> onUnroutable)
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

    /** Publishes the messages (mandatory, to the default exchange) and returns one future per message. */
    List<CompletableFuture<Void>> publish(List<Publish> messages) {
        List<CompletableFuture<Void>> futures = new ArrayList<>(messages.size());
        long deadline = System.nanoTime() + confirmTimeout.toNanos();
        synchronized (publishLock) {
            for (Publish m : messages) {
                CompletableFuture<Void> f = new CompletableFuture<>();
                futures.add(f);
                long seq = channel.getNextPublishSeqNo();
                pending.put(seq, new Pending(m.routingKey(), m.id(), f, deadline));
                try {
                    channel.basicPublish("", m.routingKey(), true, m.properties(), m.body());
                } catch (IOException | RuntimeException e) {
                    pending.remove(seq);
                    f.completeExceptionally(new ResqException("cannot publish message " + m.id() + " to queue '"
                            + m.routingKey() + "' on " + endpoint + ": " + Errors.describe(e), e));
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
                        + confirmTimeout + " for message " + p.id() + " to queue '" + p.routingKey() + "'"));
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
                p.future().completeExceptionally(new ResqException("message " + p.id() + " to queue '" + p.routingKey()
                        + "' was not stored by " + endpoint + ": " + refusal));
            }
        }
    }

    private Map<Long, Pending> single(long tag) {
        Pending p = pending.get(tag);
        return p == null ? Map.of() : Map.of(tag, p);
    }

    private void returned(Return r) {
        // Forget the queue first, so that a sender retrying on the failed future declares it again.
        onUnroutable.accept(r.getRoutingKey());
        String id = r.getProperties().getMessageId();
        for (Pending p : pending.values()) {
            if (!p.future().isDone() && p.routingKey().equals(r.getRoutingKey()) && p.id().equals(id)) {
                p.future().completeExceptionally(new ResqException("message " + id + " is unroutable: queue '"
                        + r.getRoutingKey() + "' does not exist on " + endpoint + " (" + r.getReplyCode() + " "
                        + r.getReplyText() + ")"));
                break;
            }
        }
    }

    private void shutdown(ShutdownSignalException cause) {
        for (Long seq : List.copyOf(pending.keySet())) {
            Pending p = pending.remove(seq);
            if (p != null) {
                p.future().completeExceptionally(new ResqException("no confirm for message " + p.id() + " to queue '"
                        + p.routingKey() + "': the channel to " + endpoint + " closed (" + Errors.describe(cause) + ")", cause));
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
