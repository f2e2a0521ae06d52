package io.resq.redis;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntryBinary;

/**
 * One consumer of a stream's consumer group, with a name of its own.
 *
 * <p>Each poll: moves due delayed messages into the stream (atomic script), reclaims entries idle
 * longer than the visibility timeout or released ({@code XAUTOCLAIM}), then reads new entries with
 * a blocking {@code XREADGROUP}, at most as many as the prefetch leaves room for. Blocking reads
 * are bounded per transport ({@link BlockingReads}) so they never hold every pooled connection.
 *
 * <p>Threads: {@link #poll} runs on one fetching thread, which alone owns {@link #reclaimCursor},
 * {@link #nextReclaimAt} and {@link #nextMoveAt}. {@link #unsettled} is concurrent: the fetching
 * thread adds, any thread settles (ack/release remove), the transport's keep-alive thread reads it.
 * {@link #monitor} wakes a poll waiting for prefetch room or for resume. {@link #acks} is filled by
 * any settling thread and drained by whichever thread runs {@link #flushAcks()} (the transport's
 * background thread, or the closing thread).
 */
final class RedisReceiver implements Receiver {

    private static final Logger log = LoggerFactory.getLogger(RedisReceiver.class);

    /** The consumer that parks released entries until a live consumer claims them. */
    static final String PARKING_CONSUMER = "resq-released";
    /**
     * Idle time given to a released entry, so every consumer's XAUTOCLAIM sees it as overdue. Ten
     * years: larger than any visibility timeout, smaller than the epoch time Redis subtracts it from
     * (a larger value would be reset to 0).
     */
    private static final long PARKED_IDLE_MS = TimeUnit.DAYS.toMillis(3650);
    /** Longest single blocking read, so delays, releases and interrupts are noticed promptly. */
    private static final long SLICE_MS = 250;
    /** How often the pending list is scanned for overdue entries when nothing was released locally. */
    private static final long RECLAIM_INTERVAL_MS = 250;
    /** How many delayed messages one script call moves at most. */
    private static final int MOVE_BATCH = 200;
    private static final String CURSOR_START = "0-0";

    private final RedisTransport transport;
    private final UnifiedJedis client;
    private final Settings settings;
    private final String queue;
    private final String group;
    private final String consumer;
    private final int prefetch;
    private final byte[] stream;
    private final byte[] delayed;
    /** This group's own delayed redeliveries; receivers of other groups never move them. */
    private final byte[] groupDelayed;
    /** Entries addressed to another group, to XACK (never XDEL: they are that group's) without handing out. */
    private final Queue<String> skips = new ConcurrentLinkedQueue<>();
    private final byte[] groupBytes;
    private final byte[] consumerBytes;

    private final Map<String, RedisDelivery> unsettled = new ConcurrentHashMap<>();
    private final Queue<String> acks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean ackFlushScheduled = new AtomicBoolean();
    private final Object monitor = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean paused;
    private volatile boolean releasedLocally;

    // Owned by the fetching thread.
    private String reclaimCursor = CURSOR_START;
    private long nextReclaimAt;
    private long nextMoveAt;

    RedisReceiver(RedisTransport transport, String queue, ReceiverOptions options) {
        this.transport = transport;
        this.client = transport.client();
        this.settings = transport.settings();
        this.queue = queue;
        if (options.group() == null) {
            throw ReceiverOptions.noGroup("Redis at " + transport.endpoint(), queue);
        }
        this.group = options.group();
        this.prefetch = options.prefetch();
        this.consumer = "resq-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
        this.stream = StreamFields.utf8(Keys.stream(queue));
        this.delayed = StreamFields.utf8(Keys.delayed(queue));
        this.groupDelayed = StreamFields.utf8(Keys.delayed(queue, group));
        this.groupBytes = StreamFields.utf8(group);
        this.consumerBytes = StreamFields.utf8(consumer);
        ensureGroup();
    }

    /**
     * Creates the group at the start of the stream (and the stream, MKSTREAM) if absent, so a
     * group sees what was sent before its first consumer came up.
     */
    private void ensureGroup() {
        try {
            client.xgroupCreate(stream, groupBytes, StreamFields.utf8(settings.newGroupsFromStart() ? CURSOR_START : "$"), true);
            log.debug("created consumer group {} on stream {}", group, queue);
        } catch (JedisDataException e) {
            if (e.getMessage() == null || !e.getMessage().startsWith("BUSYGROUP")) {
                throw transport.endpoint().failure("creating group " + group + " on stream " + queue, e);
            }
        } catch (JedisException e) {
            throw transport.endpoint().failure("creating group " + group + " on stream " + queue, e);
        }
    }

    @Override
    public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, was " + max);
        }
        long deadline = System.nanoTime() + Math.max(0, wait.toNanos());
        while (!closed.get()) {
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while polling stream " + queue);
            }
            long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            int room = prefetch - unsettled.size();
            if (paused || room <= 0) {
                if (remainingMs <= 0) {
                    return List.of();
                }
                synchronized (monitor) {
                    monitor.wait(Math.min(remainingMs, SLICE_MS));
                }
                continue;
            }
            int want = Math.min(max, room);
            try {
                long untilDue = moveDueMessages();
                List<Delivery> got = reclaimIfDue(want);
                if (got.isEmpty()) {
                    long block = Math.min(Math.min(remainingMs, SLICE_MS), untilDue);
                    got = readNew(want, block);
                }
                if (!got.isEmpty()) {
                    return closed.get() ? handBack(got) : got;
                }
            } catch (JedisDataException e) {
                if (e.getMessage() != null && e.getMessage().contains("NOGROUP")) {
                    // The stream or group was deleted (or a non-persistent Redis restarted): recreate it.
                    log.warn("consumer group {} of stream {} vanished; recreating it", group, queue);
                    ensureGroup();
                    continue;
                }
                throw transport.endpoint().failure("reading stream " + queue + " as group " + group, e);
            } catch (JedisException e) {
                throw transport.endpoint().failure("reading stream " + queue + " as group " + group, e);
            }
            if (System.nanoTime() - deadline >= 0) {
                return List.of();
            }
        }
        return List.of();
    }

    /** A close raced with this poll (close cleared {@link #unsettled} before these were tracked): park them for the others. */
    private List<Delivery> handBack(List<Delivery> got) {
        List<String> ids = new ArrayList<>();
        for (Delivery d : got) {
            RedisDelivery rd = (RedisDelivery) d;
            if (rd.markSettled()) {
                unsettled.remove(rd.entryId());
                ids.add(rd.entryId());
            }
        }
        try {
            transfer(ids, PARKING_CONSUMER, PARKED_IDLE_MS);
        } catch (RuntimeException e) {
            log.warn("Redis at {}: could not hand back {} entries of stream {} read during close; they return after the "
                    + "visibility timeout: {}", transport.endpoint(), ids.size(), queue, Endpoint.causeText(e));
        }
        return List.of();
    }

    /** Runs the move script when due; returns how long the next blocking read may last. */
    private long moveDueMessages() {
        long now = System.currentTimeMillis();
        if (now < nextMoveAt) {
            return nextMoveAt - now;
        }
        long moved = 0;
        long untilNext = -1;
        for (byte[] set : List.of(delayed, groupDelayed)) {
            List<?> r = (List<?>) Scripts.MOVE_DUE.run(client, List.of(set, stream),
                    List.of(StreamFields.utf8(Integer.toString(MOVE_BATCH))));
            moved = Math.max(moved, (Long) r.get(0));
            long next = (Long) r.get(1);
            untilNext = untilNext < 0 ? next : next < 0 ? untilNext : Math.min(untilNext, next);
        }
        if (moved > 0) {
            log.debug("moved {} due delayed messages into stream {}", moved, queue);
            if (settings.maxLength() > 0) {
                // Moved entries count against the cap like sent ones, and what the cap deletes is reported the same way.
                transport.trimReport().record(queue, Scripts.CAP.run(client,
                        List.of(stream, StreamFields.utf8(Keys.trimmedUnread(queue))), RedisTransport.capArgs(settings.maxLength())));
            }
        }
        long wait = moved >= MOVE_BATCH ? 0 : untilNext < 0 ? SLICE_MS : Math.min(untilNext, SLICE_MS);
        nextMoveAt = now + wait;
        return Math.max(wait, 1);
    }

    private List<Delivery> reclaimIfDue(int want) {
        long now = System.currentTimeMillis();
        if (releasedLocally) {
            releasedLocally = false;
            reclaimCursor = CURSOR_START;
        } else if (now < nextReclaimAt) {
            return List.of();
        }
        List<?> r = (List<?>) Scripts.RECLAIM.run(client, List.of(stream), List.of(groupBytes, consumerBytes,
                StreamFields.utf8(Long.toString(settings.visibilityTimeout().toMillis())),
                StreamFields.utf8(reclaimCursor), StreamFields.utf8(Integer.toString(want))));
        reclaimCursor = new String((byte[]) r.get(0), StandardCharsets.UTF_8);
        long deleted = (Long) r.get(2);
        if (deleted > 0) {
            log.warn("{} pending entries of stream {} (group {}) were deleted before being acked (trimmed or XDEL'd)",
                    deleted, queue, group);
        }
        // Keep scanning while the cursor says there is more; otherwise rest until the next interval.
        nextReclaimAt = CURSOR_START.equals(reclaimCursor) ? now + RECLAIM_INTERVAL_MS : now;
        List<Delivery> out = new ArrayList<>();
        for (Object o : (List<?>) r.get(1)) {
            List<?> e = (List<?>) o;
            String entryId = new String((byte[]) e.get(0), StandardCharsets.UTF_8);
            @SuppressWarnings("unchecked")
            List<byte[]> fields = (List<byte[]>) e.get(1);
            int count = (int) Math.min(Integer.MAX_VALUE, (Long) e.get(2));
            RedisDelivery d = track(entryId, fields, count);
            if (d != null) {
                out.add(d);
            }
        }
        if (!out.isEmpty()) {
            log.debug("reclaimed {} entries of stream {} for consumer {}", out.size(), queue, consumer);
        }
        return out;
    }

    /**
     * Reads new entries, blocking up to {@code blockMs} only while holding one of the transport's
     * blocking-read permits (see {@link BlockingReads}); without one, after waiting for it as long
     * as the read would have blocked, it reads without blocking.
     */
    private List<Delivery> readNew(int want, long blockMs) throws InterruptedException {
        BlockingReads reads = transport.blockingReads();
        long block = blockMs >= 1 ? reads.acquire(blockMs) : -1;
        try {
            return readNow(want, block);
        } finally {
            if (block >= 0) {
                reads.release();
            }
        }
    }

    private List<Delivery> readNow(int want, long blockMs) {
        XReadGroupParams params = XReadGroupParams.xReadGroupParams().count(want);
        if (blockMs >= 1) {
            params.block((int) blockMs);
        }
        List<Map.Entry<byte[], List<StreamEntryBinary>>> r = client.xreadGroupBinary(groupBytes, consumerBytes, params,
                Map.of(stream, StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY));
        if (r == null || r.isEmpty()) {
            return List.of();
        }
        List<Delivery> out = new ArrayList<>();
        for (Map.Entry<byte[], List<StreamEntryBinary>> s : r) {
            for (StreamEntryBinary e : s.getValue()) {
                List<byte[]> flat = new ArrayList<>(e.getFields().size() * 2);
                e.getFields().forEach((k, v) -> {
                    flat.add(k);
                    flat.add(v);
                });
                // A ">" read is always the entry's first delivery.
                RedisDelivery d = track(e.getID().toString(), flat, 1);
                if (d != null) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    /** The delivery of an entry, tracked as unsettled; {@code null} for another group's redelivery, which is skipped. */
    private RedisDelivery track(String entryId, List<byte[]> fields, int count) {
        StreamFields.Decoded decoded = StreamFields.decode(entryId, fields);
        String owner = decoded.headers().get(StreamFields.GROUP);
        if (owner != null && !owner.equals(group)) {
            skips.add(entryId);
            scheduleFlush();
            return null;
        }
        RedisDelivery d = new RedisDelivery(this, entryId, decoded, count);
        unsettled.put(entryId, d);
        return d;
    }

    /**
     * Queues the entry for the next batched {@code XACK} (and {@code XDEL} under the delete-on-ack
     * policy), sent by the transport's background thread within milliseconds, one command for every
     * ack that arrived meanwhile: acking costs the handler no round trip. A failed flush is logged;
     * the entries stay pending and come back after the visibility timeout (at-least-once).
     */
    void ack(RedisDelivery d) {
        unsettled.remove(d.entryId());
        acks.add(d.entryId());
        scheduleFlush();
        wakePoller();
    }

    /** Has the background thread send the queued acks and skips soon (inline when it cannot), once for all queued now. */
    private void scheduleFlush() {
        if (ackFlushScheduled.compareAndSet(false, true) && !transport.runInBackground(this::flushAcks)) {
            flushAcks();
        }
    }

    /**
     * Sends every queued ack. Runs on the transport's background thread, or inline on close. The
     * flag is cleared before draining, so an ack queued during a flush schedules the next one.
     */
    void flushAcks() {
        ackFlushScheduled.set(false);
        flushSkips();
        while (!acks.isEmpty()) {
            List<StreamEntryID> batch = new ArrayList<>();
            while (batch.size() < 1000) {
                String id = acks.poll();
                if (id == null) {
                    break;
                }
                batch.add(new StreamEntryID(id));
            }
            if (batch.isEmpty()) {
                return;
            }
            StreamEntryID[] ids = batch.toArray(new StreamEntryID[0]);
            try {
                client.xack(Keys.stream(queue), group, ids);
                if (settings.deleteOnAck()) {
                    client.xdel(Keys.stream(queue), ids);
                }
            } catch (RuntimeException e) {
                log.warn("Redis at {}: ack of {} entries of stream {} failed, they will be redelivered after the visibility "
                        + "timeout: {}", transport.endpoint(), ids.length, queue, Endpoint.causeText(e));
            }
        }
    }

    /** Acks (without deleting) the entries of other groups this group read. Same threads as {@link #flushAcks()}. */
    private void flushSkips() {
        List<StreamEntryID> batch = new ArrayList<>();
        for (String id = skips.poll(); id != null; id = skips.poll()) {
            batch.add(new StreamEntryID(id));
        }
        if (batch.isEmpty()) {
            return;
        }
        try {
            client.xack(Keys.stream(queue), group, batch.toArray(new StreamEntryID[0]));
        } catch (RuntimeException e) {
            // Still pending for this group: reclaimed later and skipped again.
            log.warn("Redis at {}: could not ack {} entries of stream {} that belong to other groups: {}", transport.endpoint(),
                    batch.size(), queue, Endpoint.causeText(e));
        }
    }

    /** Parks the entry for any live consumer; on failure (logged) it comes back after the visibility timeout instead. */
    void release(RedisDelivery d) {
        unsettled.remove(d.entryId());
        try {
            transfer(List.of(d.entryId()), PARKING_CONSUMER, PARKED_IDLE_MS);
        } catch (RuntimeException e) {
            log.warn("Redis at {}: release of message {} (entry {} of stream {}) failed, it will be redelivered after the "
                    + "visibility timeout: {}", transport.endpoint(), d.id(), d.entryId(), queue, Endpoint.causeText(e));
        } finally {
            releasedLocally = true;
            wakePoller();
        }
    }

    /** Resets the idle time of the unsettled entries this consumer still owns. Called by the transport's keep-alive thread. */
    void keepAlive() {
        List<String> ids = new ArrayList<>();
        unsettled.values().forEach(d -> {
            if (!d.isSettled()) {
                ids.add(d.entryId());
            }
        });
        if (!ids.isEmpty()) {
            transfer(ids, consumer, 0);
        }
    }

    private void transfer(List<String> entryIds, String target, long idleMs) {
        for (int i = 0; i < entryIds.size(); i += 500) {
            List<byte[]> args = new ArrayList<>();
            args.add(groupBytes);
            args.add(consumerBytes);
            args.add(StreamFields.utf8(target));
            args.add(StreamFields.utf8(Long.toString(idleMs)));
            entryIds.subList(i, Math.min(entryIds.size(), i + 500)).forEach(id -> args.add(StreamFields.utf8(id)));
            Scripts.TRANSFER.run(client, List.of(stream), args);
        }
    }

    /** The stream this receiver reads. */
    String queue() {
        return queue;
    }

    /** The consumer group this receiver belongs to. */
    String group() {
        return group;
    }

    @Override
    public void pause() {
        paused = true;
    }

    @Override
    public void resume() {
        paused = false;
        wakePoller();
    }

    private void wakePoller() {
        synchronized (monitor) {
            monitor.notifyAll();
        }
    }

    /**
     * Parks every unsettled entry for the group's other consumers and removes this consumer from
     * the group once it owns nothing. If Redis is unreachable, the entries stay pending and are
     * reclaimed after the visibility timeout: nothing is lost either way.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        wakePoller();
        List<String> ids = new ArrayList<>();
        unsettled.values().forEach(d -> {
            if (d.markSettled()) {
                ids.add(d.entryId());
            }
        });
        unsettled.clear();
        flushAcks();
        try {
            if (!ids.isEmpty()) {
                transfer(ids, PARKING_CONSUMER, PARKED_IDLE_MS);
                log.debug("released {} unsettled entries of stream {} on close", ids.size(), queue);
            }
            Scripts.FORGET_CONSUMER.run(client, List.of(stream), List.of(groupBytes, consumerBytes));
        } catch (JedisException e) {
            log.warn("Redis at {}: could not release {} entries of stream {} on close ({}); they return after the visibility timeout of {}",
                    transport.endpoint(), ids.size(), queue, Endpoint.causeText(e), settings.visibilityTimeout());
        } finally {
            transport.forget(this);
        }
    }

    boolean isClosed() {
        return closed.get();
    }

    @Override
    public String toString() {
        return "RedisReceiver[queue=" + queue + ", group=" + group + ", consumer=" + consumer + "]";
    }
}
