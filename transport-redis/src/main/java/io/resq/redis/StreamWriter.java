package io.resq.redis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XAddParams;

/**
 * Writes the sends of one stream: every send queued while the previous round trip was under way
 * goes out together as one pipelined round trip, as a broker client's own batching does (Kafka's
 * record accumulator, Lettuce's auto-pipelining). A send that finds nothing under way starts a
 * round trip of its own at once: nothing waits for company (no linger). A thread that waits for
 * the answer to each send before making the next ({@code Enqueue.send}, the processor's copies,
 * the send channel) and finds nothing under way writes its send itself, on its own thread, as
 * before sends were pipelined: a hand-off to another thread and back would only add two thread
 * wake-ups to its round trip. Whether a thread waits is seen from its previous send: answered or
 * not when it makes the next ({@link #WAITING_AFTER} in a row); every {@link #PROBE_EVERY}th send
 * of a waiting thread goes to the writer, so a thread that stops waiting is noticed.
 *
 * <p>A round trip, on one connection: the undelayed messages of every send, in the order queued,
 * as one {@link Scripts#ADD} call (an {@code XADD} each, in one command; a lone message is a
 * plain {@code XADD}); the {@code maxLength} cap script once when a cap is set and the round trip
 * added entries; one script call per delayed set with the delayed messages of every send (a shared
 * set for delayed sends, a group's own for its redeliveries); and, when the transport waits for
 * durability, {@code WAIT}/{@code WAITAOF} last, which waits for exactly these writes because
 * they were made on its connection. Each send's future completes from the replies to its own
 * commands: a command Redis refuses fails only the sends it belongs to (the sends that added
 * entries for a refused add or cap script, which fail alike on one stream key; the sends with
 * delayed messages for a refused delayed set),
 * a connection that fails fails every send of the round trip, and a short {@code WAIT} fails every
 * send of the round trip with the same {@link RedisDurabilityException} a lone send gets.
 *
 * <p>Threads: any thread queues ({@link #submit}). The writer role, held by at most one thread at
 * a time ({@link #writing}), belongs to a thread of the transport's send pool, or, for one send
 * written inline, to that send's caller: the holder takes what is queued (the caller: only its own
 * send), borrows one pooled connection from the transport's client for the round trip and returns
 * it when the replies are read. So a stream's sends use at most one connection at a time,
 * and reach Redis in the order they were queued (each caller's sends in its order). The role is
 * handed on (to another pool thread when more is queued) <em>before</em> the round trip's futures
 * are completed, so callbacks run on a pool thread that writes nothing: one that blocks, sends and
 * waits, or waits for another send, never holds up the writing. A caller writing inline completes
 * only its own future, before returning, so its callbacks run on its own thread as they always did.
 * While the transport closes, the pool takes no new task; the writer then goes on writing what is
 * queued on its own thread, and {@link #failQueued} fails what was never written.
 */
final class StreamWriter {

    /** Most messages in one round trip: bounds the memory of a pipeline and of its replies. */
    static final int MAX_BATCH_MESSAGES = 1_000;
    /** Most body bytes in one round trip (a single larger send still goes, alone). */
    static final long MAX_BATCH_BYTES = 8L * 1024 * 1024;
    /**
     * How much may wait to be written, in units of one per message plus one per 4 KiB of body:
     * about 16,000 small messages, or 64 MiB of bodies. A caller that would go over waits in
     * {@link #submit} until the writer has taken enough, as it waited for its own round trip
     * before sends were pipelined, so a flood of asynchronous sends cannot fill the heap.
     */
    static final int MAX_QUEUED_UNITS = 16_384;
    private static final long WAIT_SLICE_MILLIS = 50;

    private final RedisTransport transport;
    private final String queue;
    private final byte[] stream;
    private final Executor pool;
    private final ConcurrentLinkedQueue<Pending> queued = new ConcurrentLinkedQueue<>();
    /** True while a thread holds the writer role (or a task to take it is handed to the pool). */
    private final AtomicBoolean writing = new AtomicBoolean();
    /** Room in the queue ({@link #MAX_QUEUED_UNITS}); taken by {@link #submit}, given back as sends leave the queue. */
    private final Semaphore room = new Semaphore(MAX_QUEUED_UNITS);

    StreamWriter(RedisTransport transport, String queue, Executor pool) {
        this.transport = transport;
        this.queue = queue;
        this.stream = StreamFields.utf8(Keys.stream(queue));
        this.pool = pool;
    }

    /**
     * One send: its undelayed entries' fields, its delayed messages' script arguments per delayed
     * set (or {@code null} for none), and the future its caller holds.
     */
    static final class Pending {
        final List<List<byte[]>> now;
        final Map<String, List<byte[]>> delayed;
        final int count;
        final long bytes;
        final CompletableFuture<Void> future = new CompletableFuture<>();
        /** The room it takes in the queue. */
        final int units;

        Pending(List<List<byte[]>> now, Map<String, List<byte[]>> delayed, int count, long bytes) {
            this.now = now;
            this.delayed = delayed;
            this.count = count;
            this.bytes = bytes;
            this.units = (int) Math.min(MAX_QUEUED_UNITS, count + bytes / 4096);
        }
    }

    /**
     * How a thread has been sending, kept per thread: whether it waits for each send's answer
     * before it makes the next one. Only the owning thread reads or writes it.
     */
    private static final class Caller {
        /** The future of the thread's previous send. */
        CompletableFuture<Void> last;
        /** How many sends in a row found the thread's previous send answered (capped). */
        int answeredInARow;
        /** Sends written on the thread since the last one handed to the writer to look again. */
        int inlineSinceProbe;
    }

    private static final ThreadLocal<Caller> CALLERS = ThreadLocal.withInitial(Caller::new);

    /**
     * Sends in a row that must find the thread's previous send answered before the thread writes
     * its sends itself: a thread that waits for each answer ({@code Enqueue.send}, the processor's
     * copies, the send channel's thread) gains nothing from the writer but a hand-off each way.
     */
    static final int WAITING_AFTER = 2;
    /**
     * Every this many sends, a thread that writes its own sends hands one to the writer instead,
     * so that one whose sends start to overlap ({@code sendAsync} with many outstanding) is noticed.
     */
    static final int PROBE_EVERY = 16;

    /**
     * Sends {@code p}; any thread. A thread that waits for each of its sends, sending when nothing
     * is queued or being written to the stream, writes it itself, there and then (its future is
     * complete on return, as a lone round trip was before sends were pipelined). Otherwise the
     * send is queued for the writer; this waits while the queue is full (the writer empties it a
     * round trip at a time, each bounded by the client's timeout).
     */
    void submit(Pending p) {
        Caller caller = CALLERS.get();
        if (caller.last != null && !caller.last.isDone()) {
            caller.answeredInARow = 0;
        } else if (caller.answeredInARow <= WAITING_AFTER) {
            caller.answeredInARow++;
        }
        caller.last = p.future;
        if (caller.answeredInARow > WAITING_AFTER && ++caller.inlineSinceProbe < PROBE_EVERY
                && queued.isEmpty() && writing.compareAndSet(false, true)) {
            writeInline(p);
            return;
        }
        caller.inlineSinceProbe = 0;
        if (!room.tryAcquire(p.units)) {
            try {
                while (!room.tryAcquire(p.units, WAIT_SLICE_MILLIS, TimeUnit.MILLISECONDS)) {
                    if (transport.isClosed()) {
                        p.future.completeExceptionally(closedBeforeWritten(p));
                        return;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.future.completeExceptionally(new IllegalStateException("interrupted while waiting for room to send "
                        + p.count + " messages to stream " + queue + " (" + MAX_QUEUED_UNITS + " units queued)", e));
                return;
            }
        }
        queued.add(p);
        // Closed after the check in RedisSender: take it back unless a writer (or close) has it already.
        if (transport.isClosed() && queued.remove(p)) {
            room.release(p.units);
            p.future.completeExceptionally(closedBeforeWritten(p));
            return;
        }
        if (writing.compareAndSet(false, true)) {
            startWriter();
        }
    }

    /** Hands the writer role, just taken, to a pool thread. */
    private void startWriter() {
        try {
            pool.execute(this::write);
        } catch (RejectedExecutionException e) {
            // The pool is shut down (the transport closed) and no writer holds the role: nothing more is written.
            writing.set(false);
            failQueued();
        }
    }

    /**
     * Writes one send on the caller's thread, which holds the writer role meanwhile (sends made
     * then are queued); then gives the role to a pool thread if any were, and answers the send.
     * Only the caller's own future is completed here.
     */
    private void writeInline(Pending p) {
        Throwable outcome;
        Error fatal = null;
        try {
            outcome = roundTrip(List.of(p))[0];
        } catch (RuntimeException | Error e) {
            // Not a Redis error (those are outcomes): the send still gets its answer, and the queue its writer.
            outcome = e;
            fatal = e instanceof Error err ? err : null;
        }
        writing.set(false);
        if (!queued.isEmpty() && writing.compareAndSet(false, true)) {
            startWriter();
        }
        if (outcome == null) {
            p.future.complete(null);
        } else {
            p.future.completeExceptionally(outcome);
        }
        if (fatal != null) {
            throw fatal;
        }
    }

    /** Fails every queued send that no writer took; called once the transport is closed. */
    void failQueued() {
        Pending p;
        while ((p = queued.poll()) != null) {
            room.release(p.units);
            p.future.completeExceptionally(closedBeforeWritten(p));
        }
    }

    private IllegalStateException closedBeforeWritten(Pending p) {
        return new IllegalStateException("Redis transport to " + transport.endpoint() + " is closed; " + p.count
                + " messages to stream " + queue + " were not sent");
    }

    /** The writer's loop; runs on a send-pool thread that holds the writer role. */
    private void write() {
        boolean goOn = true;
        while (goOn) {
            List<Pending> batch = take();
            Throwable[] outcomes;
            Error fatal = null;
            try {
                outcomes = batch.isEmpty() ? new Throwable[0] : roundTrip(batch);
            } catch (RuntimeException | Error e) {
                // Not a Redis error (those are outcomes): still every future must be answered.
                outcomes = new Throwable[batch.size()];
                java.util.Arrays.fill(outcomes, e);
                fatal = e instanceof Error err ? err : null;
            }
            goOn = handOn();
            for (int i = 0; i < batch.size(); i++) {
                if (outcomes[i] == null) {
                    batch.get(i).future.complete(null);
                } else {
                    batch.get(i).future.completeExceptionally(outcomes[i]);
                }
            }
            if (fatal != null) {
                throw fatal;
            }
        }
    }

    /**
     * Gives up the writer role, handing it to another pool thread when more is queued. True when
     * this thread must go on writing itself: the pool takes no more tasks (the transport is closing).
     */
    private boolean handOn() {
        writing.set(false);
        // A send queued before the role was given up saw it held and relies on this check.
        if (queued.isEmpty() || !writing.compareAndSet(false, true)) {
            return false;
        }
        try {
            pool.execute(this::write);
            return false;
        } catch (RejectedExecutionException e) {
            return true;
        }
    }

    /** What is queued, up to the batch limits (at least one send when any is queued). */
    private List<Pending> take() {
        List<Pending> batch = new ArrayList<>();
        int messages = 0;
        long bytes = 0;
        while (true) {
            Pending next = queued.peek();
            if (next == null || (!batch.isEmpty()
                    && (messages + next.count > MAX_BATCH_MESSAGES || bytes + next.bytes > MAX_BATCH_BYTES))) {
                return batch;
            }
            // Only this thread takes; a send taken back at close may make poll return the one after it.
            Pending taken = queued.poll();
            if (taken == null) {
                return batch;
            }
            room.release(taken.units);
            batch.add(taken);
            messages += taken.count;
            bytes += taken.bytes;
        }
    }

    /** One script call of a round trip and the sends whose messages it carries (their indexes in the batch). */
    private record ScriptCall(Script script, List<byte[]> keys, List<byte[]> args, List<Integer> owners) {
    }

    /** Writes the batch; returns per send {@code null} (confirmed) or why it failed. */
    private Throwable[] roundTrip(List<Pending> batch) {
        Throwable[] outcomes = new Throwable[batch.size()];
        Settings settings = transport.settings();
        DurabilityWait durability = settings.durability();
        Pending first = batch.get(0);
        if (batch.size() == 1 && first.now.size() == 1 && first.delayed == null && settings.maxLength() == 0
                && durability == null) {
            // A lone undelayed message: a plain XADD, no pipeline to set up.
            try {
                transport.client().xadd(stream, XAddParams.xAddParams(), StreamFields.asMap(first.now.get(0)));
            } catch (JedisException | IllegalStateException e) {
                outcomes[0] = failure(first, e);
            }
            return outcomes;
        }
        List<Integer> adders = new ArrayList<>();
        int entries = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (!batch.get(i).now.isEmpty()) {
                adders.add(i);
                entries += batch.get(i).now.size();
            }
        }
        List<ScriptCall> scripts = new ArrayList<>();
        // One entry: an XADD. More: one script call adding them all, a single command for Redis to run.
        List<Pending> xadds = entries == 1 ? batch : List.of();
        if (entries > 1) {
            List<byte[]> args = new ArrayList<>(entries * 10);
            for (int i : adders) {
                for (List<byte[]> fields : batch.get(i).now) {
                    args.add(StreamFields.utf8(Integer.toString(fields.size())));
                    args.addAll(fields);
                }
            }
            scripts.add(new ScriptCall(Scripts.ADD, List.of(stream), args, adders));
        }
        if (settings.maxLength() > 0 && !adders.isEmpty()) {
            scripts.add(new ScriptCall(Scripts.CAP, List.of(stream, StreamFields.utf8(Keys.trimmedUnread(queue))),
                    RedisTransport.capArgs(settings.maxLength()), adders));
        }
        Map<String, List<byte[]>> delayedArgs = null;
        Map<String, List<Integer>> delayedOwners = null;
        for (int i = 0; i < batch.size(); i++) {
            Map<String, List<byte[]>> delayed = batch.get(i).delayed;
            if (delayed == null) {
                continue;
            }
            if (delayedArgs == null) {
                delayedArgs = new LinkedHashMap<>();
                delayedOwners = new LinkedHashMap<>();
            }
            for (Map.Entry<String, List<byte[]>> set : delayed.entrySet()) {
                delayedArgs.computeIfAbsent(set.getKey(), k -> new ArrayList<>()).addAll(set.getValue());
                delayedOwners.computeIfAbsent(set.getKey(), k -> new ArrayList<>()).add(i);
            }
        }
        if (delayedArgs != null) {
            for (Map.Entry<String, List<byte[]>> set : delayedArgs.entrySet()) {
                scripts.add(new ScriptCall(Scripts.DELAY, List.of(StreamFields.utf8(set.getKey())), set.getValue(),
                        delayedOwners.get(set.getKey())));
            }
        }
        List<ScriptCall> unknown;
        try {
            unknown = pipeline(xadds, scripts, durability, false, outcomes, batch);
        } catch (JedisException | IllegalStateException e) {
            // The connection failed (or none could be borrowed): no reply tells what was written.
            for (int i = 0; i < batch.size(); i++) {
                outcomes[i] = failure(batch.get(i), e);
            }
            return outcomes;
        }
        if (!unknown.isEmpty()) {
            // The server forgot the scripts (restart, SCRIPT FLUSH): those calls did not run; run them with their source.
            // The cap goes again after entries added now, as it ran before them.
            if (unknown.get(0).script() == Scripts.ADD && scripts.size() > 1 && scripts.get(1).script() == Scripts.CAP
                    && !unknown.contains(scripts.get(1))) {
                unknown.add(1, scripts.get(1));
            }
            try {
                pipeline(List.of(), unknown, durability, true, outcomes, batch);
            } catch (JedisException | IllegalStateException e) {
                for (int i = 0; i < batch.size(); i++) {
                    if (outcomes[i] == null && (durability != null || ownedBy(unknown, i))) {
                        outcomes[i] = failure(batch.get(i), e);
                    }
                }
            }
        }
        return outcomes;
    }

    private static boolean ownedBy(List<ScriptCall> calls, int send) {
        for (ScriptCall call : calls) {
            if (call.owners().contains(send)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs one pipelined round trip: the entries of {@code entries}, the script calls, the wait.
     * Records each send's failure in {@code outcomes} (indexed as {@code all}); returns the script
     * calls the server did not know (they did nothing). Throws when the connection fails.
     */
    private List<ScriptCall> pipeline(List<Pending> entries, List<ScriptCall> scripts, DurabilityWait durability,
                                      boolean withSource, Throwable[] outcomes, List<Pending> all) {
        List<Response<byte[]>> added = new ArrayList<>();
        List<Response<Object>> ran = new ArrayList<>(scripts.size());
        Response<?> waited = null;
        try (AbstractPipeline pipeline = transport.client().pipelined()) {
            for (Pending p : entries) {
                for (List<byte[]> fields : p.now) {
                    added.add(pipeline.xadd(stream, XAddParams.xAddParams(), StreamFields.asMap(fields)));
                }
            }
            for (ScriptCall call : scripts) {
                ran.add(call.script().queue(pipeline, call.keys(), call.args(), withSource));
            }
            if (durability != null) {
                waited = durability.queue(pipeline, stream);
            }
            pipeline.sync();
        }
        int reply = 0;
        for (int i = 0; i < entries.size(); i++) {
            for (int m = 0; m < entries.get(i).now.size(); m++) {
                try {
                    added.get(reply++).get();
                } catch (JedisDataException e) {
                    if (outcomes[i] == null) {
                        outcomes[i] = failure(entries.get(i), e);
                    }
                }
            }
        }
        List<ScriptCall> unknown = new ArrayList<>();
        for (int s = 0; s < scripts.size(); s++) {
            ScriptCall call = scripts.get(s);
            try {
                Object result = ran.get(s).get();
                if (call.script() == Scripts.CAP) {
                    transport.trimReport().record(queue, result);
                }
            } catch (JedisDataException e) {
                if (!withSource && Script.isNoScript(e)) {
                    unknown.add(call);
                    continue;
                }
                for (int owner : call.owners()) {
                    if (outcomes[owner] == null) {
                        outcomes[owner] = failure(all.get(owner), e);
                    }
                }
            }
        }
        if (waited != null && unknown.isEmpty()) {
            for (int i = 0; i < all.size(); i++) {
                if (outcomes[i] != null) {
                    continue;
                }
                try {
                    durability.check(waited, transport.endpoint(), all.get(i).count + " messages sent to stream " + queue);
                } catch (RedisDurabilityException e) {
                    outcomes[i] = e;
                } catch (JedisDataException e) {
                    outcomes[i] = failure(all.get(i), e);
                }
            }
        }
        return unknown;
    }

    private RuntimeException failure(Pending p, RuntimeException cause) {
        return transport.failure("sending " + p.count + " messages to stream " + queue, cause);
    }

    @Override
    public String toString() {
        return "StreamWriter[stream=" + queue + "]";
    }
}
