package io.resq;

import io.resq.internal.DecodeException;
import io.resq.internal.MsgCodec;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Dequeue} over one receiver.
 *
 * <p>Threads: the fetch thread owns the receiver's {@code poll} and fills {@link #messages}; the
 * ack thread drains {@link #acks}; {@link #ack} and {@link #nack} settle on the caller's thread.
 * Deliveries are settled through the receipt each received {@link Msg} carries. A failed message
 * put into {@link #acks} has its copy sent while the ack thread goes on: the dequeue's settle
 * thread acks the original once the broker confirmed the copy, with at most {@code prefetch}
 * copies in flight ({@link #copySlots}; the ack thread waits for one beyond that).
 */
final class DefaultDequeue<T> implements Dequeue<T> {

    private static final Logger LOG = LoggerFactory.getLogger(DefaultDequeue.class);
    private static final Duration POLL_WAIT = Duration.ofMillis(200);
    /** How long close() waits for copies in flight before their originals go back unacked. */
    private static final Duration COPY_WAIT = Duration.ofSeconds(10);

    private final Queues.Settings settings;
    private final MsgCodec<T> codec;
    private final String queue;
    private final Receiver receiver;
    private final ReceiverWatch receiverWatch;
    private final Settler<T> settler;
    private final ReceiveChannel<Msg<T>> messages;
    private final BlockingQueue<Msg<T>> acks = new LinkedBlockingQueue<>();
    private final Thread fetcher;
    private final Thread acker;
    /** Runs the completions of copies in flight (the ack of each original), never the broker client's thread. */
    private final ExecutorService settleThread;
    /** Copies in flight from the ack channel: the ack thread takes one before each, its completion gives it back. */
    private final Semaphore copySlots;
    private volatile boolean closed;

    DefaultDequeue(Transport transport, Queues.Settings settings, MsgCodec<T> codec, String queue, String group,
                   String deadLetterQueue, RetryPolicy redelivery) {
        this.settings = settings;
        this.codec = codec;
        this.queue = queue;
        this.messages = new ReceiveChannel<>(settings.prefetch(), queue);
        transport.checkQueues(queue, deadLetterQueue);
        this.receiver = transport.receiver(queue, new ReceiverOptions(group, settings.prefetch()));
        this.receiverWatch = new ReceiverWatch(receiver, queue, group, settings.listener());
        this.settler = new Settler<>(transport, codec, queue, transport.effectiveGroup(group), deadLetterQueue, redelivery,
                settings.listener(), settings.clock());
        this.fetcher = new Thread(this::fetchLoop, "resq-dequeue-" + queue);
        this.acker = new Thread(this::ackLoop, "resq-acks-" + queue);
        fetcher.setDaemon(true);
        acker.setDaemon(true);
        this.copySlots = new Semaphore(settings.prefetch());
        this.settleThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "resq-dequeue-settle-" + queue);
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        fetcher.start();
        acker.start();
    }

    @Override
    public String queue() {
        return queue;
    }

    @Override
    public BlockingQueue<Msg<T>> messages() {
        return messages;
    }

    @Override
    public Stream<Msg<T>> stream() {
        Spliterator<Msg<T>> messagesUntilClosed = new Spliterators.AbstractSpliterator<>(Long.MAX_VALUE,
                Spliterator.ORDERED | Spliterator.NONNULL) {
            @Override
            public boolean tryAdvance(Consumer<? super Msg<T>> action) {
                try {
                    // Returns at once once the channel is closed: null then means closed and drained.
                    Msg<T> m = messages.poll(Long.MAX_VALUE, TimeUnit.NANOSECONDS);
                    if (m == null) {
                        return false;
                    }
                    action.accept(m);
                    return true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        };
        return StreamSupport.stream(messagesUntilClosed, false);
    }

    @Override
    public BlockingQueue<Msg<T>> acks() {
        return acks;
    }

    @Override
    public void ack(Msg<T> msg) {
        receipt(msg).ack();
    }

    @Override
    public void nack(Msg<T> msg, Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        Delivery d = receipt(msg);
        settler.fail(d, msg, error, Failure.of(error, settings.clock().instant()));
    }

    private Delivery receipt(Msg<T> msg) {
        Objects.requireNonNull(msg, "msg must not be null");
        if (!(msg.receipt instanceof Delivery d)) {
            throw new IllegalArgumentException("message " + msg.id() + " was not received from a Dequeue: only received messages can be acked");
        }
        return d;
    }

    private void fetchLoop() {
        while (!closed) {
            try {
                int room = messages.remainingCapacity();
                if (room == 0) {
                    messages.awaitRoom();
                    continue;
                }
                List<Delivery> got = receiver.poll(room, POLL_WAIT);
                receiverWatch.check();
                for (Delivery d : got) {
                    // One bad delivery never takes the rest of its batch with it.
                    hand(d);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                if (closed) {
                    return;
                }
                LOG.warn("receiving from {} failed, trying again in 1 s: {}", queue, e.toString());
                sleepQuietly(1000);
            }
        }
    }

    /** Fetch thread: decodes {@code d} into the channel, dead-letters it as undecodable, or releases it later. */
    private void hand(Delivery d) {
        try {
            Msg<T> msg;
            try {
                msg = codec.decode(queue, d);
            } catch (DecodeException e) {
                settler.undecodable(d, e, settings.clock().instant());
                return;
            }
            settings.listener().onReceived(msg);
            // Room was reserved before the poll and only this thread adds, so this never blocks.
            messages.deliver(msg.withReceipt(d));
        } catch (RuntimeException | Error e) {
            rethrowIfFatal(e);
            LOG.error("handing a message of {} to the receive channel failed; it goes back to the broker after a back-off: {}",
                    queue, e.toString());
            settler.releaseLater(d, e);
        }
    }

    private void ackLoop() {
        while (!closed || !acks.isEmpty()) {
            try {
                Msg<T> msg = acks.poll(100, TimeUnit.MILLISECONDS);
                if (msg == null) {
                    continue;
                }
                settle(msg);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                LOG.error("settling a message of {} failed: {}", queue, e.toString());
            }
        }
    }

    /** Ack thread: settles {@code msg}; whatever throws, its delivery goes back to the broker after a back-off. */
    private void settle(Msg<T> msg) {
        if (!(msg.receipt instanceof Delivery d)) {
            LOG.error("a message put into the ack channel of {} was not received from it (id {}); ignored", queue, msg.id());
            return;
        }
        try {
            settleNow(d, msg);
        } catch (RuntimeException | Error e) {
            rethrowIfFatal(e);
            LOG.error("settling a message of {} failed; it goes back to the broker after a back-off: {}", queue, e.toString());
            settler.releaseLater(d, e);
        }
    }

    private void settleNow(Delivery d, Msg<T> msg) {
        if (msg.pendingFailure != null) {
            // failed() already appended the failure to the copy's history; the settler appends it again from the original history.
            // copy(), not toBuilder(): the copies keep the message as it was received.
            Msg<T> original = msg.copy().clearErrors().errors(msg.errors().subList(0, msg.errors().size() - 1)).build();
            try {
                copySlots.acquire();
            } catch (InterruptedException e) {
                // Interrupted while waiting for a slot: write this copy in line instead, so the message is settled all the same.
                Thread.currentThread().interrupt();
                settler.fail(d, original, msg.pendingError, msg.pendingFailure);
                return;
            }
            // The slot comes back exactly once: when the copy was settled, or when a refused one's original went back later.
            settler.failAsync(d, original, msg.pendingError, msg.pendingFailure, settleThread, outcome -> {
                if (outcome != Settler.Outcome.RELEASED_LATER) {
                    copySlots.release();
                }
            }, copySlots::release);
        } else {
            d.ack();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        join(fetcher);
        join(acker);
        // Copies in flight get a bounded wait: their completions ack the originals.
        try {
            if (!settler.awaitCopies(COPY_WAIT)) {
                LOG.warn("{} retry or dead-letter copies of {} still unconfirmed after {} s: their originals go back to the broker unacked",
                        settler.copiesInFlight(), queue, COPY_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        messages.close();
        List<Msg<T>> unread = new ArrayList<>();
        messages.drainTo(unread);
        for (Msg<T> m : unread) {
            try {
                receipt(m).release();
            } catch (RuntimeException e) {
                LOG.warn("releasing a message of {} on close failed; the broker redelivers it once its lease ends: {}", queue, e.toString());
            }
        }
        // Deliveries waiting out a back-off, and originals of copies still unconfirmed, go back now, before the receiver closes.
        settler.close();
        settleThread.shutdown();
        try {
            // A completion that began before the settler closed finishes its ack before the receiver closes.
            settleThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        receiver.close();
    }

    /** Out of memory and the like are not the message's fault and not recoverable here; a stack overflow is (a deep payload). */
    private static void rethrowIfFatal(Throwable e) {
        if (e instanceof VirtualMachineError vme && !(e instanceof StackOverflowError)) {
            throw vme;
        }
    }

    private static void join(Thread t) {
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
