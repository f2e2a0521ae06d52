package io.resq.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes one queue on its own channel with manual acks and {@code basic.qos(prefetch)}: the
 * broker pushes at most {@code prefetch} unacknowledged messages into a local buffer that
 * {@link #poll} drains. {@link #pause()} cancels the consumer (and hands buffered messages back),
 * {@link #resume()} consumes again.
 *
 * <p>Threads: {@link #poll}, and usually pause/resume, run on the one fetching thread; the
 * client's consumer-dispatch thread fills {@link #buffer} and reports a broker-side cancel through
 * a volatile field without taking locks; ack and release come from any thread. Every call on
 * {@link #channel} happens under {@link #channelLock}, so the channel is never used by two threads
 * at once. When the channel goes down its unacknowledged messages go back to the queue on the
 * broker's side: {@link #generation} moves on, and deliveries of the old generation are dropped
 * from the buffer and their settling ignored.
 *
 * <p>A delivery tag only means something on the channel it came from. Each delivery carries that
 * channel, and is settled only on it: a delivery the client dispatches after its channel went down
 * (the dispatch thread may lag behind the shutdown) is never acked on the channel that replaced
 * it, where its tag would name another message. Across a connection recovery the channel object
 * stays the same and the client itself ignores tags from before the recovery.
 *
 * <p>Exactly one consumer per receiver: the transport's topology-recovery filter restores only the
 * consumer tags a receiver currently holds ({@link RabbitMqTransport#consumerLive}), so a consumer
 * the broker cancelled (and this receiver replaced) does not come back beside its replacement.
 */
final class RabbitReceiver implements Receiver {

    private static final Logger LOG = LoggerFactory.getLogger(RabbitReceiver.class);
    private static final long RESUBSCRIBE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long PAUSED_SLEEP_MILLIS = 50;

    private final RabbitMqTransport transport;
    private final String queue;
    private final int prefetch;
    private final LinkedBlockingQueue<RabbitDelivery> buffer = new LinkedBlockingQueue<>();
    private final Object channelLock = new Object();
    /** Written under channelLock; volatile because the connection's thread reads it in channelDown. */
    private volatile Channel channel;
    /** Guarded by channelLock; null while paused, cancelled, or not subscribed yet. */
    private String consumerTag;
    /** Guarded by channelLock: System.nanoTime() of the last failed subscription. */
    private long lastFailedSubscribe;
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean paused;
    private volatile boolean closed;
    /** Why the consumer is not consuming although it should, for health(); null when all is well. */
    private volatile String problem;
    /** Set by the dispatch thread when the broker cancelled the consumer. */
    private volatile boolean brokerCancelled;
    /**
     * Set by the connection's thread when the broker closed the channel with a channel error (a
     * {@code consumer_timeout}, an unknown delivery tag): connection recovery does not repair that,
     * so the fetching thread opens a new channel.
     */
    private volatile Channel lostChannel;
    /**
     * Acks held back to go out as one multiple ack, at most this many: a quarter of the prefetch,
     * so that the broker keeps delivering while they wait.
     */
    private final int ackBatch;
    /** Guarded by channelLock: the ack ledger of the latest channel generation that settled a delivery, or null. */
    private AckLedger ledger;
    /** Written by the dispatch thread before it buffers a delivery: the first delivery's tag of each channel generation. */
    private volatile FirstTag firstTag;

    /** The tag of {@code channel}'s first delivery in {@code generation}. */
    private record FirstTag(Channel channel, long generation, long tag) {
    }

    RabbitReceiver(RabbitMqTransport transport, String queue, int prefetch) {
        this.transport = transport;
        this.queue = queue;
        this.prefetch = prefetch;
        this.ackBatch = Math.max(1, prefetch / 4);
        transport.topology().ensureQueue(queue);
        synchronized (channelLock) {
            try {
                openChannel();
                consume();
            } catch (IOException | RuntimeException e) {
                closeChannelQuietly();
                throw new io.resq.ResqException("cannot consume queue '" + queue + "' on " + transport.endpoint() + ": "
                        + Errors.describe(e), e);
            }
        }
    }

    @Override
    public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, was " + max);
        }
        if (closed) {
            throw new IllegalStateException("receiver of queue '" + queue + "' is closed");
        }
        // Acks held back go out before more is taken: an idle queue or a slow trickle never leaves them waiting
        // longer than the fetching thread's next poll.
        flushAcks();
        long deadline = System.nanoTime() + wait.toNanos();
        if (paused) {
            releaseBuffered();
            while (paused && !closed && System.nanoTime() < deadline) {
                Thread.sleep(Math.max(1, Math.min(PAUSED_SLEEP_MILLIS, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
            }
            return List.of();
        }
        ensureSubscribed();
        RabbitDelivery first = buffer.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (first == null) {
            return List.of();
        }
        List<RabbitDelivery> taken = new ArrayList<>();
        taken.add(first);
        buffer.drainTo(taken, max - 1);
        List<Delivery> out = new ArrayList<>(taken.size());
        long current = generation.get();
        Channel now = channel;
        for (RabbitDelivery d : taken) {
            if (d.generation != current || d.channel != now || closed) {
                // The broker took these back when their channel went down or closed.
                d.markSettled();
            } else if (paused) {
                d.release();
            } else {
                out.add(d);
            }
        }
        return out;
    }

    @Override
    public void pause() {
        paused = true;
        flushAcks();
        synchronized (channelLock) {
            // Cancel even while the connection recovers: the client then forgets the consumer
            // instead of restoring it after recovery.
            if (consumerTag != null && channel != null) {
                transport.consumerGone(consumerTag);
                try {
                    channel.basicCancel(consumerTag);
                } catch (IOException | RuntimeException e) {
                    LOG.debug("Cancelling the consumer of queue '{}' failed: {}", queue, Errors.describe(e));
                }
            }
            consumerTag = null;
        }
        releaseBuffered();
    }

    @Override
    public void resume() {
        paused = false;
        synchronized (channelLock) {
            lastFailedSubscribe = 0;
        }
        ensureSubscribed();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        synchronized (channelLock) {
            // Under the lock, so that no ack is held back after this: settle() refuses from here on.
            closed = true;
            // Acks held back go out first: closing the channel would hand their messages back too.
            sendDeferredAcks();
            // Closing the channel hands every unacknowledged delivery back to the queue at once.
            if (consumerTag != null) {
                transport.consumerGone(consumerTag);
            }
            closeChannelQuietly();
            consumerTag = null;
        }
        buffer.clear();
        transport.receiverClosed(this);
    }

    /** Why this receiver is not consuming although it should, or {@code null}. */
    String problem() {
        return problem;
    }

    String queue() {
        return queue;
    }

    /** The current channel, for tests that make the broker close it. */
    Channel channelForTest() {
        synchronized (channelLock) {
            return channel;
        }
    }

    void settle(RabbitDelivery d, boolean ack) {
        synchronized (channelLock) {
            if (closed) {
                throw new IllegalStateException("receiver of queue '" + queue + "' is closed: " + d
                        + " was handed back to the queue when it closed and will be delivered again");
            }
            if (d.generation != generation.get() || d.channel != channel || channel == null) {
                LOG.debug("{} of queue '{}' is from a channel that went down; the broker returned it already", d, queue);
                return;
            }
            AckLedger acks = ledgerFor(d);
            try {
                if (ack && acks != null && acks.ack(d.deliveryTag)) {
                    // Every delivery before this one is settled: it can wait to go out with the next ones.
                    if (acks.deferred() >= ackBatch) {
                        sendDeferredAcks();
                    }
                    return;
                }
                if (ack) {
                    channel.basicAck(d.deliveryTag, false);
                } else {
                    channel.basicNack(d.deliveryTag, false, true);
                }
                if (acks != null && !ack) {
                    acks.settled(d.deliveryTag);
                }
            } catch (IOException | RuntimeException e) {
                // The channel is down: the broker returns its unacknowledged messages to the queue.
                LOG.debug("Settling {} of queue '{}' failed ({}); the broker returns it to the queue", d, queue, Errors.describe(e));
            }
        }
    }

    /**
     * The ack ledger of {@code d}'s channel and generation (the current ones), made at its first
     * settle; {@code null} when the first delivery of that generation is not known, and then every
     * ack goes out on its own. Caller holds channelLock.
     */
    private AckLedger ledgerFor(RabbitDelivery d) {
        if (ledger != null && ledger.isFor(d.channel, d.generation)) {
            return ledger;
        }
        FirstTag first = firstTag;
        if (first == null || first.channel() != d.channel || first.generation() != d.generation) {
            return null;
        }
        // A new channel or generation: acks held back for the old one went with it (the broker put those messages back).
        ledger = new AckLedger(d.channel, d.generation, first.tag());
        return ledger;
    }

    /**
     * Sends the acks held back, as one multiple ack, if the channel they belong to is still the
     * current one. The fetching thread before each poll, the transport's ack timer every
     * {@link RabbitMqTransport#ACK_FLUSH_MILLIS}.
     */
    void flushAcks() {
        synchronized (channelLock) {
            sendDeferredAcks();
        }
    }

    /** Caller holds channelLock. */
    private void sendDeferredAcks() {
        if (ledger == null || ledger.deferred() == 0) {
            return;
        }
        long upTo = ledger.takeDeferred();
        if (channel == null || !ledger.isFor(channel, generation.get())) {
            // That channel went down and the broker returned those messages already; their tags must not reach
            // its replacement, whatever the client would make of them there.
            return;
        }
        try {
            channel.basicAck(upTo, true);
        } catch (IOException | RuntimeException e) {
            LOG.debug("Acking deliveries of queue '{}' up to tag {} failed ({}); the broker returns them to the queue", queue, upTo,
                    Errors.describe(e));
        }
    }

    private void releaseBuffered() {
        List<RabbitDelivery> held = new ArrayList<>();
        buffer.drainTo(held);
        long current = generation.get();
        Channel now = channel;
        for (RabbitDelivery d : held) {
            if (d.generation == current && d.channel == now) {
                d.release();
            } else {
                d.markSettled();
            }
        }
    }

    /** Subscribes again after the broker cancelled the consumer or a resume; at most once a second after a failure. */
    private void ensureSubscribed() {
        synchronized (channelLock) {
            if (brokerCancelled) {
                brokerCancelled = false;
                if (consumerTag != null) {
                    transport.consumerGone(consumerTag);
                }
                consumerTag = null;
            }
            if (lostChannel != null && lostChannel == channel) {
                lostChannel = null;
                if (consumerTag != null) {
                    transport.consumerGone(consumerTag);
                }
                consumerTag = null; // the channel below is replaced, with a new consumer
            }
            if (closed || paused || consumerTag != null) {
                return;
            }
            if (lastFailedSubscribe != 0 && System.nanoTime() - lastFailedSubscribe < RESUBSCRIBE_INTERVAL_NANOS) {
                return;
            }
            try {
                if (channel == null || !channel.isOpen()) {
                    if (!transport.consumerConnectionOpen()) {
                        return; // automatic recovery brings the connection, channel and consumer back
                    }
                    closeChannelQuietly();
                    openChannel();
                }
                transport.topology().forget(queue);
                transport.topology().ensureQueue(queue);
                consume();
                lastFailedSubscribe = 0;
                problem = null;
                LOG.info("Consuming queue '{}' on {} again", queue, transport.endpoint());
            } catch (IOException | RuntimeException e) {
                lastFailedSubscribe = System.nanoTime();
                problem = "cannot consume queue '" + queue + "': " + Errors.describe(e);
                LOG.warn("Cannot consume queue '{}' on {} yet: {}", queue, transport.endpoint(), Errors.describe(e));
            }
        }
    }

    /** Caller holds channelLock. */
    private void consume() throws IOException {
        String tag = channel.basicConsume(queue, false, new QueueConsumer(channel));
        transport.consumerLive(tag);
        consumerTag = tag;
    }

    /** Caller holds channelLock. */
    private void openChannel() throws IOException {
        Channel ch = transport.consumerConnection().createChannel();
        if (ch == null) {
            throw new IOException("no free channel on the connection to " + transport.endpoint());
        }
        ch.basicQos(prefetch);
        ch.addShutdownListener(cause -> channelDown(ch, cause));
        channel = ch;
    }

    /** Caller holds channelLock. */
    private void closeChannelQuietly() {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
            try {
                channel.abort();
            } catch (IOException | RuntimeException ignored) {
                // abort is best effort; the broker returns the channel's messages when the socket goes
            }
        }
    }

    private void channelDown(Channel down, ShutdownSignalException cause) {
        // Runs on the connection's thread, which must not wait for channelLock (the fetching thread
        // may hold it while waiting for this thread in an RPC). The broker has already put this
        // channel's unacked messages back. If the fetching thread saw the channel closed and
        // replaced it before this ran, only the old channel's deliveries are stale: moving the
        // generation on would strand the new channel's deliveries unsettled.
        if (down == channel) {
            generation.incrementAndGet();
        }
        buffer.removeIf(d -> d.channel == down);
        if (closed || cause.isInitiatedByApplication()) {
            return;
        }
        String reason = Errors.describe(cause);
        if (!cause.isHardError()) {
            lostChannel = down;
            problem = "the broker closed the channel of queue '" + queue + "' (" + reason + "); consuming on a new one";
        }
        if (Errors.replyCode(cause) == 406 && reason.contains("acknowledgement")) {
            // RabbitMQ's consumer_timeout: a delivery stayed unacknowledged too long.
            LOG.warn("{} closed the channel of queue '{}' because a message stayed unacknowledged longer than its "
                    + "consumer_timeout ({}); its messages go back to the queue and are delivered again. Raise "
                    + "consumer_timeout above the longest handler time including retries, or lower the prefetch",
                    transport.endpoint(), queue, reason);
        } else {
            LOG.debug("Channel of queue '{}' went down: {}", queue, reason);
        }
    }

    /** Feeds the buffer; runs on the client's consumer-dispatch thread for this channel. */
    private final class QueueConsumer extends DefaultConsumer {

        QueueConsumer(Channel channel) {
            super(channel);
        }

        @Override
        public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
            String id = AmqpMapping.id(queue, properties, body);
            Channel ch = getChannel();
            long gen = generation.get();
            FirstTag first = firstTag;
            if (first == null || first.channel() != ch || first.generation() != gen) {
                // This thread delivers a channel's messages in tag order: the first one seen is the first one sent.
                firstTag = new FirstTag(ch, gen, envelope.getDeliveryTag());
            }
            buffer.add(new RabbitDelivery(RabbitReceiver.this, ch, gen, envelope.getDeliveryTag(), id,
                    AmqpMapping.headers(properties), body, AmqpMapping.deliveryCount(properties, envelope)));
        }

        @Override
        public void handleCancel(String tag) {
            // At once, on this thread: a connection recovery before the next poll must not bring it back.
            transport.consumerGone(tag);
            problem = "the broker cancelled the consumer of queue '" + queue + "' (queue deleted?); re-subscribing";
            LOG.warn("{} on {}", problem, transport.endpoint());
            brokerCancelled = true;
        }
    }
}
