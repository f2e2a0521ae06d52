package io.resq;

import io.resq.internal.MsgCodec;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An {@link Enqueue} over one sender.
 *
 * <p>Threads: the send thread, started by the first insert into {@link #messages}, owns the draining
 * of that channel into batches; synchronous and asynchronous sends go straight to the transport from
 * the caller's thread, with retries scheduled on the common pool's delayed executor. One instance is
 * shared by every caller of {@code queues.enqueue(queue, type)}.
 */
final class DefaultEnqueue<T> implements Enqueue<T> {

    /** Capacity of the send channel. */
    static final int CHANNEL_CAPACITY = 1024;
    /** Largest batch the send thread hands the transport. */
    static final int MAX_BATCH = 100;
    /** How long close() lets the send thread empty the channel. */
    private static final long CLOSE_DRAIN_MILLIS = 10_000;

    private final Sender sender;
    private final Queues.Settings settings;
    private final MsgCodec<T> codec;
    private final String queue;
    private final int maxBodySize;
    private final int bodyLimit;
    /** The transport's longest delay, read once: a delayed send beyond it is refused. */
    private final Duration maxDelay;
    /** {@code null} when no interceptor is registered: the send paths then do no interceptor work. */
    private final Interceptors interceptors;
    private final SendChannel<T> messages;
    private final BlockingQueue<Undelivered<T>> deadLetters = new LinkedBlockingQueue<>();
    private final Thread sendThread;
    /** Guards the one start of the send thread and close's view of it. */
    private final Object lifecycle = new Object();
    private boolean started;
    private volatile boolean closed;

    /**
     * @param maxBodySize the send limit: the largest encoded body sent
     * @param bodyLimit   the limit the send limit was derived from, for error messages
     */
    DefaultEnqueue(Sender sender, Queues.Settings settings, MsgCodec<T> codec, String queue, int maxBodySize, int bodyLimit,
                   Duration maxDelay) {
        this.sender = sender;
        this.maxDelay = maxDelay;
        this.bodyLimit = bodyLimit;
        this.settings = settings;
        this.codec = codec;
        this.queue = queue;
        this.maxBodySize = maxBodySize;
        this.interceptors = settings.interceptors();
        this.messages = new SendChannel<>(CHANNEL_CAPACITY, queue, this::startSendThread);
        this.sendThread = new Thread(this::sendLoop, "resq-enqueue-" + queue);
        sendThread.setDaemon(true);
    }

    /** Called on the first insert into the channel: most enqueues only ever send synchronously. */
    private void startSendThread() {
        synchronized (lifecycle) {
            if (!started && !closed) {
                started = true;
                sendThread.start();
            }
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public String queue() {
        return queue;
    }

    @Override
    public BlockingQueue<T> messages() {
        return messages;
    }

    @Override
    public BlockingQueue<Undelivered<T>> deadLetters() {
        return deadLetters;
    }

    @Override
    public Msg<T> send(T payload) {
        return send(addressed(payload));
    }

    @Override
    public Msg<T> send(Msg<T> msg) {
        try {
            return sendAsync(msg).get(settings.sendTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new SendException("no confirmation for " + msg.id() + " from the broker of " + queue + " within "
                    + settings.sendTimeout().toMillis() + " ms (Queues.builder(...).sendTimeout)", List.of(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SendException("interrupted while sending " + msg.id() + " to " + queue, List.of(), e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SendException se) {
                throw se;
            }
            throw new SendException("could not send " + msg.id() + " to " + queue, List.of(), e.getCause());
        }
    }

    @Override
    public CompletableFuture<Msg<T>> sendAsync(T payload) {
        return sendAsync(addressed(payload));
    }

    @Override
    public CompletableFuture<Msg<T>> sendAsync(Msg<T> msg) {
        Objects.requireNonNull(msg, "msg must not be null");
        if (closed) {
            throw new IllegalStateException("Enqueue of " + queue + " is closed: it sends nothing more; "
                    + "get an open one from queues.enqueue(queue, type)");
        }
        Msg<T> target = queue.equals(msg.queue()) ? msg : msg.toBuilder().queue(queue).build();
        // With interceptors: the message with the headers they added (trace context, say), and their callbacks.
        Interceptors.Sending<T> sending = interceptors == null ? null : interceptors.beforeSend(target);
        Msg<T> addressed = sending == null ? target : sending.msg;
        Outbound out;
        try {
            out = encode(addressed);
        } catch (RuntimeException e) {
            SendException refused = new SendException(e.getMessage(), List.of(Failure.of(e, settings.clock().instant())), e);
            if (sending != null) {
                sending.completed(refused);
            }
            return CompletableFuture.failedFuture(refused);
        }
        CompletableFuture<Msg<T>> result = new CompletableFuture<>();
        // Completed straight from the transport's callback: no intermediate futures per message.
        attempt(List.of(out), 1, null, failures -> {
            if (failures.isEmpty()) {
                if (sending != null) {
                    sending.completed(null);
                }
                result.complete(addressed);
                return;
            }
            SendException failed = failedFor(addressed, failures);
            if (sending != null) {
                sending.completed(failed);
            }
            result.completeExceptionally(failed);
        });
        return result;
    }

    private SendException failedFor(Msg<T> msg, List<Failure> failures) {
        Failure last = failures.get(failures.size() - 1);
        return new SendException("could not send " + msg.id() + " to " + queue + " after "
                + failures.size() + " attempts: " + last.type() + ": " + last.message(), failures, null);
    }

    private Msg<T> addressed(T payload) {
        return Msg.builder(Objects.requireNonNull(payload, "payload must not be null")).queue(queue).build();
    }

    private Outbound encode(Msg<T> msg) {
        Outbound out = codec.encode(msg, delayOf(msg));
        refuseOverLimit(out, queue, maxBodySize, bodyLimit);
        return out;
    }

    /**
     * Refuses a body over {@code sendLimit}, the {@code bodyLimit} less the room kept for the error
     * history: what {@link Enqueue} and {@link Queues#encode} both refuse, with one message.
     */
    static void refuseOverLimit(Outbound out, String queue, int sendLimit, int bodyLimit) {
        if (out.body().length > sendLimit) {
            throw new IllegalArgumentException("message " + out.id() + " encodes to " + out.body().length
                    + " bytes, over the send limit of " + sendLimit + " bytes for " + queue + ": the body limit is "
                    + bodyLimit + " bytes (the smaller of the broker's and Queues.builder(...).maxBodySize), less "
                    + (bodyLimit - sendLimit) + " bytes of room for the error history (Queues.HISTORY_RESERVE_BYTES); "
                    + "send a reference to the data instead");
        }
    }

    /** The delay the message asked for, measured from now; refused when the transport cannot hold it back that long. */
    private Duration delayOf(Msg<T> msg) {
        Duration delay = msg.deliverAfter();
        if (delay == null) {
            Instant at = msg.deliverAt();
            if (at == null) {
                return Duration.ZERO;
            }
            delay = Duration.between(settings.clock().instant(), at);
            if (delay.isNegative()) {
                return Duration.ZERO;
            }
        }
        if (delay.compareTo(maxDelay) > 0) {
            throw new IllegalArgumentException("message " + msg.id() + " asks to be delivered after " + delay + ", longer than "
                    + (maxDelay.isZero() ? "this transport supports (it has no delayed delivery)" : "the longest delay of this transport, " + maxDelay)
                    + "; send it later, or keep long schedules in your own store");
        }
        return delay;
    }

    /**
     * Sends the batch, retrying per the send policy, then calls {@code done} (on the transport's
     * callback thread, or the retry timer's) with an empty list on success, or with one failure per
     * attempt when every attempt failed. {@code failures} is {@code null} until the first failure.
     */
    private void attempt(List<Outbound> batch, int attempt, List<Failure> failures, Consumer<List<Failure>> done) {
        CompletableFuture<Void> sent;
        try {
            // No timer per send: the transport bounds its own futures (see Sender), and send() bounds its wait.
            sent = sender.send(batch);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((ok, error) -> {
            if (error == null) {
                done.accept(List.of());
                return;
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            List<Failure> soFar = failures != null ? failures : new ArrayList<>();
            soFar.add(Failure.of(cause, settings.clock().instant()));
            RetryPolicy policy = settings.sendRetry();
            // An oversized body or a closed transport will not get better by trying again.
            boolean retryable = policy.isRetryable(cause) && !(cause instanceof IllegalArgumentException)
                    && !(cause instanceof IllegalStateException);
            if (retryable && attempt < policy.maxAttempts()) {
                long delay = policy.delayAfter(attempt).toMillis();
                CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS)
                        .execute(() -> attempt(batch, attempt + 1, soFar, done));
            } else {
                done.accept(List.copyOf(soFar));
            }
        });
    }

    private void sendLoop() {
        List<T> batch = new ArrayList<>(MAX_BATCH);
        while (true) {
            try {
                T first = messages.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closed) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                messages.drainTo(batch, MAX_BATCH - 1);
                sendBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                batch.clear();
            }
        }
    }

    private void sendBatch(List<T> payloads) throws InterruptedException {
        List<Msg<T>> msgs = new ArrayList<>(payloads.size());
        List<Outbound> outs = new ArrayList<>(payloads.size());
        List<Interceptors.Sending<T>> sendings = interceptors == null ? null : new ArrayList<>(payloads.size());
        for (T p : payloads) {
            Msg<T> m = addressed(p);
            Interceptors.Sending<T> sending = null;
            if (interceptors != null) {
                sending = interceptors.beforeSend(m);
                m = sending.msg;
            }
            try {
                outs.add(encode(m));
                msgs.add(m);
                if (sending != null) {
                    sendings.add(sending);
                }
            } catch (RuntimeException e) {
                List<Failure> failures = List.of(Failure.of(e, settings.clock().instant()));
                if (sending != null) {
                    sending.completed(failedFor(m, failures));
                }
                undelivered(m, failures);
            }
        }
        if (outs.isEmpty()) {
            return;
        }
        CompletableFuture<List<Failure>> outcome = new CompletableFuture<>();
        attempt(outs, 1, null, outcome::complete);
        List<Failure> failures;
        try {
            failures = outcome.get();
        } catch (ExecutionException e) {
            failures = List.of(Failure.of(e.getCause(), settings.clock().instant()));
        }
        if (sendings != null) {
            for (int i = 0; i < sendings.size(); i++) {
                sendings.get(i).completed(failures.isEmpty() ? null : failedFor(msgs.get(i), failures));
            }
        }
        if (!failures.isEmpty()) {
            for (Msg<T> m : msgs) {
                undelivered(m, failures);
            }
        }
    }

    private void undelivered(Msg<T> m, List<Failure> failures) {
        deadLetters.add(new Undelivered<>(m, failures));
        settings.listener().onSendFailed(m, failures);
    }

    @Override
    public void close() {
        boolean running;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            running = started;
        }
        // From here no insert is accepted; what the channel holds is everything accepted.
        messages.close();
        if (running) {
            try {
                sendThread.join(CLOSE_DRAIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // Whatever the send thread could not get to is reported, not dropped.
        List<T> left = new ArrayList<>();
        messages.drainTo(left);
        for (T p : left) {
            undelivered(addressed(p),
                    List.of(Failure.of(new IllegalStateException("Enqueue closed before this message was sent"), settings.clock().instant())));
        }
    }
}
