package io.resq.redis;

import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.ConnectionPool;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * The Redis Streams transport: a queue is a stream, a receiver group is a stream consumer group,
 * each receiver is a consumer with a unique name.
 *
 * <pre>{@code
 * Transport transport = RedisTransport.create("redis://127.0.0.1:6379");
 * // or, with options or your own client:
 * Transport transport = RedisTransport.builder(myRedisClient).visibilityTimeout(Duration.ofMinutes(2)).build();
 * Queues queues = Queues.using(transport);
 * }</pre>
 *
 * <ul>
 *   <li>Send: {@code XADD}; the sends to a stream outstanding at the same time go out as one
 *       pipelined round trip ({@link StreamWriter}); the body is the field {@code body}, the id
 *       {@code resq-id}, the key {@code resq-key}, each header a field of its own.</li>
 *   <li>Receive: {@code XREADGROUP} with blocking reads, counted against the prefetch.</li>
 *   <li>Ack: {@code XACK}, plus {@code XDEL} with {@link Builder#deleteOnAck(boolean)}.</li>
 *   <li>Release and crashed consumers: entries go back through {@code XAUTOCLAIM}; the pending
 *       list's delivery counter is {@link io.resq.spi.Delivery#deliveryCount()}.</li>
 *   <li>Delay: a sorted set per queue scored by due time, moved into the stream by an atomic
 *       Lua script.</li>
 * </ul>
 *
 * <p>Thread-safe. Owns one background thread that sends acks in batches and refreshes the idle
 * time of deliveries still being handled, so a slow handler does not lose its message to another
 * consumer, and a pool of send threads ({@code resq-redis-send-N}, made as needed, ended after a
 * minute idle) that write the sends and complete their futures; these threads and, when built
 * from a URI, the client end with {@link #close()}. Blocking
 * reads are bounded below the pool size ({@link Builder#maxBlockingReads(int)}), so that thread
 * never waits for a connection behind them.
 */
public final class RedisTransport implements Transport {

    private static final Logger log = LoggerFactory.getLogger(RedisTransport.class);

    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.DELAYED_DELIVERY, Capability.CONSUMER_GROUPS, Capability.DELIVERY_COUNT, Capability.PAUSE));

    private final UnifiedJedis client;
    private final boolean ownsClient;
    private final Endpoint endpoint;
    private final Settings settings;
    private final BlockingReads blockingReads;
    private final TrimReport trimReport;
    private final Set<RedisReceiver> receivers = ConcurrentHashMap.newKeySet();
    /** Every queue a sender or receiver was made for: the streams whose maxLength losses health() reports. */
    private final Set<String> queues = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService keepAlive;
    /**
     * The send pool: a thread per stream being written, plus the threads completing futures of
     * round trips done (see {@link StreamWriter}). Unbounded, so that a callback blocking one of
     * them never keeps a send from being written; idle threads end after a minute.
     */
    private final ThreadPoolExecutor sendPool;
    /** The writer of each stream sent to: one per stream, shared by all of its senders. */
    private final Map<String, StreamWriter> writers = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Marks the threads of a transport's send pool, so that close() run from one does not wait for itself. */
    private static final ThreadLocal<RedisTransport> SEND_POOL_OF = new ThreadLocal<>();
    /** How long close() lets the send pool write what was queued before it fails the rest. */
    private static final long CLOSE_SENDS_MILLIS = 5_000;

    RedisTransport(UnifiedJedis client, boolean ownsClient, Endpoint endpoint, Settings settings, BlockingReads blockingReads) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.endpoint = endpoint;
        this.settings = settings;
        this.blockingReads = blockingReads;
        this.trimReport = new TrimReport(settings.maxLength());
        this.keepAlive = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resq-redis-background");
            t.setDaemon(true);
            return t;
        });
        AtomicInteger sendThreads = new AtomicInteger();
        this.sendPool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(() -> {
                SEND_POOL_OF.set(this);
                r.run();
            }, "resq-redis-send-" + sendThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(100, settings.visibilityTimeout().toMillis() / 3);
        keepAlive.scheduleWithFixedDelay(this::keepAliveAll, period, period, TimeUnit.MILLISECONDS);
        if (!settings.trimInterval().isZero()) {
            long trim = settings.trimInterval().toMillis();
            keepAlive.scheduleWithFixedDelay(this::housekeeping, trim, trim, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A transport on the Redis at {@code redisUri} ({@code redis://[user:password@]host:port[/db]},
     * or {@code rediss://} for TLS) with default options. Connects at once, so an unreachable
     * server fails here with its address and the cause.
     *
     * @throws RedisTransportException if the server does not answer within the connect timeout
     */
    public static RedisTransport create(String redisUri) {
        return builder(redisUri).build();
    }

    /** A builder for a transport that creates (and closes) its own client from {@code redisUri}. */
    public static Builder builder(String redisUri) {
        return new Builder(redisUri);
    }

    /**
     * A builder for a transport over a client the application already has ({@code RedisClient},
     * {@code JedisPooled}, {@code RedisClusterClient}, ...): its pool, TLS, auth and timeouts are
     * used as they are, and {@link #close()} leaves it open. Its socket timeout must exceed the
     * 250 ms blocking-read slice. Blocking reads are bounded to one less than its pool size when the
     * transport can see it ({@code RedisClient}, {@code RedisClusterClient}); for any other client
     * set {@link Builder#maxBlockingReads(int)}.
     */
    public static Builder builder(UnifiedJedis client) {
        return new Builder(client);
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Sender sender(String queue) {
        requireName(queue);
        queues.add(queue);
        return new RedisSender(this, queue, writers.computeIfAbsent(queue, q -> new StreamWriter(this, q, sendPool)));
    }

    /**
     * A new consumer in {@code options.group()} of the stream {@code queue}; creates the stream and
     * the group (at the stream's start) if absent.
     *
     * @throws IllegalStateException    if the transport is closed
     * @throws RedisTransportException  if Redis is unreachable
     */
    @Override
    public Receiver receiver(String queue, ReceiverOptions options) {
        requireName(queue);
        Objects.requireNonNull(options, "options must not be null");
        if (closed.get()) {
            throw new IllegalStateException("Redis transport is closed; cannot receive from stream " + queue);
        }
        RedisReceiver r = new RedisReceiver(this, queue, options);
        queues.add(queue);
        receivers.add(r);
        if (closed.get()) {
            r.close();
            throw new IllegalStateException("Redis transport is closed; cannot receive from stream " + queue);
        }
        return r;
    }

    /**
     * UP when Redis answers. The detail names the address and the number of receivers and, for each
     * queue this transport sends to or receives from whose stream lost entries to a
     * {@code maxLength} cap (this process's or another's), per group how many were deleted before
     * they were delivered and how many while delivered but not acked: {@code "...; deleted unread
     * by maxLength: orders [group billing: 12 undelivered + 1 unacked, group audit: 3 undelivered + 0 unacked]"}.
     */
    @Override
    public Health health() {
        if (closed.get()) {
            return Health.down("Redis transport to " + endpoint + " is closed");
        }
        try {
            String pong = client.ping();
            StringBuilder detail = new StringBuilder("Redis at " + endpoint + " answered " + pong + "; " + receivers.size() + " receivers");
            Map<String, Map<String, long[]>> lost = TrimReport.read(client, List.copyOf(queues));
            if (!lost.isEmpty()) {
                detail.append("; deleted unread by maxLength: ");
                StringBuilder streams = new StringBuilder();
                lost.forEach((q, groups) -> {
                    StringBuilder perGroup = new StringBuilder();
                    groups.forEach((g, c) -> perGroup.append(perGroup.length() == 0 ? "" : ", ").append("group ").append(g)
                            .append(": ").append(c[0]).append(" undelivered + ").append(c[1]).append(" unacked"));
                    streams.append(streams.length() == 0 ? "" : ", ").append(q).append(" [").append(perGroup).append(']');
                });
                detail.append(streams);
            }
            return Health.up(detail.toString());
        } catch (RuntimeException e) {
            return Health.down("Redis at " + endpoint + " is not answering: " + Endpoint.causeText(e));
        }
    }

    /**
     * How many entries of {@code queue}'s stream the {@code maxLength} cap deleted before each
     * consumer group had acked them (never delivered to the group, or delivered but not acked),
     * per group; groups that lost nothing are absent. The counters live in Redis next to the
     * stream, so they add up the deletions of every process that sends to or moves into the stream,
     * and survive restarts (to reset them, delete the hash next to the stream, {@code {orders}:resq-trimmed-unread}
     * for a queue {@code orders}).
     *
     * @throws RedisTransportException if Redis does not answer
     */
    public Map<String, Long> deletedUnread(String queue) {
        requireName(queue);
        try {
            Map<String, Long> out = new LinkedHashMap<>();
            TrimReport.parse(client.hgetAll(Keys.trimmedUnread(queue))).forEach((g, c) -> out.put(g, c[0] + c[1]));
            return out;
        } catch (JedisException e) {
            throw failure("reading the maxLength losses of stream " + queue, e);
        }
    }

    /** The body limit: the server's {@code proto-max-bulk-len}, or the lower limit set on the builder. */
    @Override
    public int maxBodySize() {
        return settings.maxBodySize();
    }

    /**
     * Closes every receiver (releasing unsettled deliveries), then the sends: what was queued
     * before the close is still written, for up to 5 seconds, and whatever is left then fails with
     * an {@link IllegalStateException} saying the transport is closed (so is every send from now
     * on); a round trip under way then completes or fails by the client's timeout. Then the
     * keep-alive thread and an owned client. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // Receivers first: their close flushes queued acks and releases what is unsettled.
        new ArrayList<>(receivers).forEach(RedisReceiver::close);
        closeSends();
        keepAlive.shutdownNow();
        if (ownsClient) {
            try {
                client.close();
            } catch (RuntimeException e) {
                log.debug("closing the Redis client of {} failed: {}", endpoint, Endpoint.causeText(e));
            }
        }
        log.debug("Redis transport to {} closed", endpoint);
    }

    /**
     * Lets the writers finish what was queued (the pool takes no new task, so each writer goes on
     * on its own thread), then fails what is left. Not interrupted: a callback running on a pool
     * thread must not see a stray interrupt.
     */
    private void closeSends() {
        sendPool.shutdown();
        if (SEND_POOL_OF.get() != this) {
            try {
                if (!sendPool.awaitTermination(CLOSE_SENDS_MILLIS, TimeUnit.MILLISECONDS)) {
                    log.warn("Redis transport to {}: sends still being written {} ms after close; failing those not written yet",
                            endpoint, CLOSE_SENDS_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        writers.values().forEach(StreamWriter::failQueued);
    }

    // ------------------------------------------------------------ for the package

    UnifiedJedis client() {
        return client;
    }

    Settings settings() {
        return settings;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    BlockingReads blockingReads() {
        return blockingReads;
    }

    TrimReport trimReport() {
        return trimReport;
    }

    /**
     * ARGV of {@link Scripts#CAP}: the cap and the slack. The stream is trimmed back to the cap once
     * it exceeds it by 1%, so a large cap costs one trim per many sends, as {@code MAXLEN ~} did.
     */
    static List<byte[]> capArgs(long maxLength) {
        return List.of(StreamFields.utf8(Long.toString(maxLength)), StreamFields.utf8(Long.toString(maxLength / 100)));
    }

    boolean isClosed() {
        return closed.get();
    }

    void forget(RedisReceiver r) {
        receivers.remove(r);
    }

    /** An error for a failed command; after close, the {@link IllegalStateException} a closed transport gives. */
    RuntimeException failure(String action, RuntimeException cause) {
        if (closed.get()) {
            return new IllegalStateException("Redis transport to " + endpoint + " is closed; " + action + " failed", cause);
        }
        return endpoint.failure(action, cause);
    }

    /** Runs the task on the background thread; false if that thread is gone (transport closed). */
    boolean runInBackground(Runnable task) {
        try {
            keepAlive.execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /**
     * Trims every stream this transport receives from of the entries all its groups acked, and
     * deletes the idle consumers of crashed processes from its receivers' groups. Runs on the
     * background thread only; a failure is logged and the next interval tries again.
     */
    void housekeeping() {
        Set<String> streams = new HashSet<>();
        Set<List<String>> groups = new HashSet<>();
        receivers.forEach(r -> {
            streams.add(r.queue());
            groups.add(List.of(r.queue(), r.group()));
        });
        for (List<String> g : groups) {
            try {
                long removed = (Long) Scripts.FORGET_IDLE_CONSUMERS.run(client, List.of(StreamFields.utf8(Keys.stream(g.get(0)))),
                        List.of(StreamFields.utf8(g.get(1)), StreamFields.utf8(Long.toString(settings.idleConsumerTimeout().toMillis()))));
                if (removed > 0) {
                    log.info("removed {} idle consumer(s) owning nothing from group {} of stream {}", removed, g.get(1), g.get(0));
                }
            } catch (RuntimeException e) {
                log.warn("Redis at {}: removing idle consumers of group {} of stream {} failed: {}", endpoint, g.get(1), g.get(0),
                        Endpoint.causeText(e));
            }
        }
        for (String stream : streams) {
            try {
                List<?> r = (List<?>) Scripts.TRIM_ACKED.run(client, List.of(StreamFields.utf8(Keys.stream(stream))), List.of());
                long trimmed = (Long) r.get(0);
                if (trimmed > 0) {
                    log.debug("trimmed {} entries of stream {} that every group acked (below {})", trimmed, stream,
                            new String((byte[]) r.get(1), StandardCharsets.UTF_8));
                }
            } catch (RuntimeException e) {
                log.warn("Redis at {}: trimming stream {} failed, trying again in {} ms: {}", endpoint, stream,
                        settings.trimInterval().toMillis(), Endpoint.causeText(e));
            }
        }
    }

    /** Runs on the keep-alive thread only. */
    private void keepAliveAll() {
        trimReport.logDue();
        for (RedisReceiver r : receivers) {
            if (r.isClosed()) {
                continue;
            }
            try {
                r.keepAlive();
            } catch (JedisException e) {
                log.warn("Redis at {}: keep-alive of {} failed: {}", endpoint, r, Endpoint.causeText(e));
            } catch (RuntimeException e) {
                log.warn("keep-alive of {} failed", r, e);
            }
        }
    }

    private static void requireName(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        if (queue.isBlank()) {
            throw new IllegalArgumentException("queue must not be blank");
        }
    }

    @Override
    public String toString() {
        return "RedisTransport[" + endpoint + "]";
    }

    /**
     * Options of a {@link RedisTransport}. Obtained from {@link RedisTransport#builder(String)} or
     * {@link RedisTransport#builder(UnifiedJedis)}; not thread-safe.
     */
    public static final class Builder {

        /** Redis' default {@code proto-max-bulk-len}, used when {@code CONFIG GET} is not allowed. */
        static final int REDIS_DEFAULT_MAX_BULK = 512 * 1024 * 1024;

        private final String uri;
        private final UnifiedJedis userClient;
        private Duration visibilityTimeout = Duration.ofSeconds(30);
        private Duration timeout = Duration.ofSeconds(5);
        private long maxLength;
        private boolean deleteOnAck;
        private Duration trimInterval = Duration.ofSeconds(10);
        private boolean newGroupsFromStart = true;
        private Duration idleConsumerTimeout = Duration.ofHours(1);
        private int maxBodySize = Integer.MAX_VALUE;
        private int maxConnections = 32;
        private int maxBlockingReads;
        private DurabilityWait durability;

        Builder(String uri) {
            this.uri = Objects.requireNonNull(uri, "redisUri must not be null");
            this.userClient = null;
        }

        Builder(UnifiedJedis client) {
            this.uri = null;
            this.userClient = Objects.requireNonNull(client, "client must not be null");
        }

        /**
         * How long a delivery may stay unsettled without a keep-alive before another consumer of the
         * group reclaims it with {@code XAUTOCLAIM}: the time after which the messages of a crashed
         * consumer come back. A live receiver refreshes its deliveries every third of it. Default 30 s.
         */
        public Builder visibilityTimeout(Duration value) {
            Objects.requireNonNull(value, "visibilityTimeout must not be null");
            if (value.toMillis() < 300) {
                throw new IllegalArgumentException("visibilityTimeout must be >= 300ms, was " + value);
            }
            this.visibilityTimeout = value;
            return this;
        }

        /**
         * Connect and read timeout of a client built from a URI (borrowing a pooled connection waits at
         * most this long too). Default 5 s. Ignored for a user-supplied client.
         */
        public Builder timeout(Duration value) {
            Objects.requireNonNull(value, "timeout must not be null");
            if (value.toMillis() < 1 || value.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("timeout must be between 1ms and " + Integer.MAX_VALUE + "ms, was " + value);
            }
            this.timeout = value;
            return this;
        }

        /**
         * A hard cap on each stream this transport sends to or moves delayed messages into: once a
         * stream holds more than {@code value} + 1% entries, the oldest are deleted down to
         * {@code value} ({@code XTRIM MAXLEN}, in the same script that counts them). Unlike the safe
         * trimming of {@link #trimInterval(Duration)}, this <b>loses entries that a consumer group has
         * not read or acked</b>: they are never delivered (again). Every such loss is reported: a
         * WARN line per stream at most every 10 seconds, with per-group counts and no message content,
         * and counters per stream and group kept in Redis, shown by {@link RedisTransport#health()} and
         * {@link RedisTransport#deletedUnread(String)}. Entries a group was delivered but had not
         * acked are acked by the trim (so no consumer reports them again). Size it well above the
         * backlog you expect. Default 0: no cap.
         */
        public Builder maxLength(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("maxLength must be >= 0, was " + value);
            }
            this.maxLength = value;
            return this;
        }

        /**
         * Deletion policy: when true an ack is {@code XACK} plus {@code XDEL}, so a stream holds only
         * unacked messages. Use it only when one group reads the queue: the deleted entry is gone for
         * the other groups too. Default false (entries stay until trimmed).
         */
        public Builder deleteOnAck(boolean value) {
            this.deleteOnAck = value;
            return this;
        }

        /**
         * How often the streams this transport receives from are trimmed of the entries that every
         * consumer group of the stream has been delivered and has acked ({@code XTRIM MINID} below
         * the oldest pending entry, or the last-delivered id, of every group). Never deletes what a
         * group has not read or acked. A stream with no group is not trimmed, and readers outside
         * consumer groups ({@code XREAD}) are not taken into account. Default 10 s;
         * {@link Duration#ZERO} turns it off.
         */
        public Builder trimInterval(Duration value) {
            Objects.requireNonNull(value, "trimInterval must not be null");
            if (value.isNegative() || (!value.isZero() && value.toMillis() < 100)) {
                throw new IllegalArgumentException("trimInterval must be zero (off) or >= 100ms, was " + value);
            }
            this.trimInterval = value;
            return this;
        }

        /**
         * Where a consumer group that a receiver creates starts reading: {@code true} (the default)
         * at the oldest entry still in the stream, so messages sent before the group's first
         * consumer came up are handled; {@code false} at the end, so a new group handles only what
         * is sent from then on. A group that exists already keeps its position either way.
         */
        public Builder newGroupsFromStart(boolean value) {
            this.newGroupsFromStart = value;
            return this;
        }

        /**
         * Consumers of a group that own no pending entry and have been idle this long are deleted
         * (each receiver is a consumer named after its process; a crashed process leaves its names
         * behind). Checked every {@link #trimInterval(Duration)}, for the groups this transport
         * receives in. Must exceed the visibility timeout. Default 1 hour.
         */
        public Builder idleConsumerTimeout(Duration value) {
            Objects.requireNonNull(value, "idleConsumerTimeout must not be null");
            if (value.toMillis() < 1) {
                throw new IllegalArgumentException("idleConsumerTimeout must be >= 1ms, was " + value);
            }
            this.idleConsumerTimeout = value;
            return this;
        }

        /**
         * Refuse bodies larger than this, even if the server would take them. The effective limit is
         * the smaller of this and the server's {@code proto-max-bulk-len}.
         */
        public Builder maxBodySize(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxBodySize must be >= 1, was " + value);
            }
            this.maxBodySize = value;
            return this;
        }

        /**
         * Pool size of a client built from a URI: each receiver holds one connection during a blocking
         * read, each stream being written borrows one per round trip of sends. Default 32. Ignored
         * for a user-supplied client.
         */
        public Builder maxConnections(int value) {
            if (value < 2) {
                throw new IllegalArgumentException("maxConnections must be >= 2, was " + value);
            }
            this.maxConnections = value;
            return this;
        }

        /**
         * How many receivers of this transport may hold a pooled connection in a blocking read at
         * the same time; the others wait for a turn, up to their read's time slice, then read
         * without blocking. Keeping it below the pool size keeps connections free for the
         * background thread's keep-alives and batched acks (and for sends), so a delivery held by
         * a slow handler is not reclaimed because its keep-alive waited for a connection. Default:
         * the pool size minus one, for a client built from a URI and for a {@code RedisClient} or
         * {@code RedisClusterClient} (the smallest node pool); for any other user-supplied client
         * the transport cannot see the pool, so set it (pool size minus one, or less) or reads
         * are not bounded. Must be smaller than the pool size when the pool is known.
         */
        public Builder maxBlockingReads(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxBlockingReads must be >= 1, was " + value);
            }
            this.maxBlockingReads = value;
            return this;
        }

        /**
         * Makes every send, and every redelivery and dead-letter copy, wait until {@code replicas}
         * replicas acknowledged the write ({@code WAIT replicas timeout}, on the connection that
         * wrote), so a failover of the primary cannot lose it. When fewer acknowledge within
         * {@code timeout}, the send fails with a {@link RedisDurabilityException}: {@code send()}
         * throws {@code SendException}, the send channel reports the message in
         * {@code deadLetters()} after its retries, a failed copy leaves its original unacked. The
         * write itself stays on the primary, so a retried send may add the message twice (same
         * message id). Replaces an earlier {@link #waitForAof}. Default: no wait.
         */
        public Builder waitForReplicas(int replicas, Duration timeout) {
            if (replicas < 1) {
                throw new IllegalArgumentException("replicas must be >= 1, was " + replicas);
            }
            this.durability = DurabilityWait.replicas(replicas, requireWaitTimeout(timeout));
            return this;
        }

        /**
         * Like {@link #waitForReplicas}, but waits for the write to be fsynced to the append-only
         * file: on the primary when {@code local} ({@code appendonly yes} needed there) and on
         * {@code replicas} replicas ({@code WAITAOF}). Needs Redis 7.2 or later: {@link #build()}
         * refuses an older server. Replaces an earlier {@link #waitForReplicas}.
         */
        public Builder waitForAof(boolean local, int replicas, Duration timeout) {
            if (replicas < 0) {
                throw new IllegalArgumentException("replicas must be >= 0, was " + replicas);
            }
            if (!local && replicas == 0) {
                throw new IllegalArgumentException("waitForAof needs local fsync or at least one replica, was neither");
            }
            this.durability = DurabilityWait.aof(local ? 1 : 0, replicas, requireWaitTimeout(timeout));
            return this;
        }

        private static Duration requireWaitTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout must not be null");
            // WAIT 0 would block for ever: a send must fail in bounded time.
            if (timeout.toMillis() < 1) {
                throw new IllegalArgumentException("timeout must be >= 1ms, was " + timeout);
            }
            return timeout;
        }

        /**
         * Connects, checks that Redis answers and reads its body limit.
         *
         * @throws IllegalArgumentException if the URI is not a redis:// or rediss:// URI with a host,
         *                                  or {@link #maxBlockingReads(int)} is not below the pool size
         * @throws IllegalStateException    if {@link #waitForAof} was asked of a Redis older than 7.2
         * @throws RedisTransportException  if Redis does not answer, naming host:port and the cause
         */
        public RedisTransport build() {
            if (idleConsumerTimeout.compareTo(visibilityTimeout) <= 0) {
                throw new IllegalArgumentException("idleConsumerTimeout (" + idleConsumerTimeout + ") must be longer than "
                        + "visibilityTimeout (" + visibilityTimeout + ")");
            }
            UnifiedJedis client;
            Endpoint endpoint;
            if (userClient != null) {
                client = userClient;
                endpoint = Endpoint.userClient();
            } else {
                URI parsed = parse(uri);
                endpoint = Endpoint.of(parsed);
                client = clientFor(parsed);
            }
            BlockingReads reads;
            Settings settings;
            try {
                reads = blockingReads(client);
                client.ping();
                int limit = Math.min(maxBodySize, serverBulkLimit(client));
                if (durability != null && durability.usesAof()) {
                    requireWaitAof(client, endpoint);
                }
                settings = new Settings(visibilityTimeout, maxLength, deleteOnAck, limit, trimInterval, newGroupsFromStart,
                        idleConsumerTimeout, durability);
                log.debug("Redis transport to {}: body limit {} bytes, visibility timeout {}, blocking reads at most {}, wait {}",
                        endpoint, limit, visibilityTimeout, reads.limit(), durability);
            } catch (IllegalArgumentException | IllegalStateException e) {
                closeOwn(client);
                throw e;
            } catch (RuntimeException e) {
                closeOwn(client);
                throw endpoint.failure("connecting", e);
            }
            return new RedisTransport(client, userClient == null, endpoint, settings, reads);
        }

        private void closeOwn(UnifiedJedis client) {
            if (userClient == null) {
                client.close();
            }
        }

        /**
         * The bound on blocking reads: below the pool size the transport knows (its own, or that
         * of a {@code RedisClient} or {@code RedisClusterClient}), else what the user set, else none.
         */
        private BlockingReads blockingReads(UnifiedJedis client) {
            int pool = poolSize(client);
            if (pool > 0 && pool < 2) {
                throw new IllegalArgumentException("the Redis client's pool has " + pool + " connection; a transport needs at "
                        + "least 2, so that blocking reads leave one for keep-alives and acks");
            }
            if (maxBlockingReads > 0) {
                if (pool > 0 && maxBlockingReads >= pool) {
                    throw new IllegalArgumentException("maxBlockingReads (" + maxBlockingReads + ") must be smaller than the "
                            + "Redis client's pool size (" + pool + "), so that keep-alives and acks find a free connection");
                }
                return BlockingReads.atMost(maxBlockingReads);
            }
            if (pool == Integer.MAX_VALUE) {
                return BlockingReads.unbounded(); // a pool without a maximum is never exhausted
            }
            if (pool > 0) {
                return BlockingReads.atMost(pool - 1);
            }
            log.warn("the pool size of the {} given to the Redis transport is unknown, so blocking reads are not bounded: when "
                    + "receivers hold every connection, keep-alives and acks wait for one. Set maxBlockingReads(pool size - 1)",
                    client.getClass().getSimpleName());
            return BlockingReads.unbounded();
        }

        /**
         * The connections a blocking read may take from: the pool's maximum (the smallest node's on a
         * cluster); {@link Integer#MAX_VALUE} for a pool without one (commons-pool's negative
         * maximum); 0 when the transport cannot see the pool.
         */
        private int poolSize(UnifiedJedis client) {
            if (userClient == null) {
                return maxConnections;
            }
            int size;
            if (client instanceof RedisClient pooled) {
                size = pooled.getPool().getMaxTotal();
            } else if (client instanceof RedisClusterClient cluster) {
                size = cluster.getClusterNodes().values().stream().mapToInt(ConnectionPool::getMaxTotal)
                        .map(n -> n < 0 ? Integer.MAX_VALUE : n).min().orElse(0);
            } else {
                return 0;
            }
            return size < 0 ? Integer.MAX_VALUE : size;
        }

        /** WAITAOF exists from Redis 7.2 on; an older server would fail every send, so refuse here. */
        private static void requireWaitAof(UnifiedJedis client, Endpoint endpoint) {
            String version = serverVersion(client);
            int[] parts = new int[2];
            String[] split = version.split("\\.");
            for (int i = 0; i < 2 && i < split.length; i++) {
                try {
                    parts[i] = Integer.parseInt(split[i].trim());
                } catch (NumberFormatException e) {
                    parts[i] = 0;
                }
            }
            if (parts[0] < 7 || (parts[0] == 7 && parts[1] < 2)) {
                throw new IllegalStateException("waitForAof needs Redis 7.2 or later (WAITAOF), but Redis at " + endpoint
                        + " is version " + version + "; use waitForReplicas, or upgrade Redis");
            }
        }

        /** {@code redis_version} from {@code INFO server}, or "unknown". */
        private static String serverVersion(UnifiedJedis client) {
            for (String line : client.info("server").split("\\r?\\n")) {
                if (line.startsWith("redis_version:")) {
                    return line.substring("redis_version:".length()).trim();
                }
            }
            return "unknown";
        }

        private static URI parse(String uri) {
            URI parsed;
            try {
                parsed = URI.create(uri);
            } catch (IllegalArgumentException e) {
                // The URI may hold a password: do not echo it.
                throw new IllegalArgumentException("redisUri is not a valid URI (redis://[user:password@]host:port[/db]): "
                        + e.getClass().getSimpleName(), null);
            }
            if (!JedisURIHelper.isRedisScheme(parsed) && !JedisURIHelper.isRedisSSLScheme(parsed)) {
                throw new IllegalArgumentException("redisUri must use the redis:// or rediss:// scheme, was " + parsed.getScheme());
            }
            if (parsed.getHost() == null) {
                throw new IllegalArgumentException("redisUri must name a host (redis://host:port)");
            }
            return parsed;
        }

        // DefaultJedisClientConfig.isSsl() still decides on TLS in Jedis 8, so ssl(boolean) is the switch despite its deprecation.
        @SuppressWarnings("deprecation")
        private UnifiedJedis clientFor(URI parsed) {
            int ms = (int) timeout.toMillis();
            DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis(ms)
                    .socketTimeoutMillis(ms)
                    // Blocking reads last at most one 250 ms slice; bound them so a dead peer cannot hang a poll.
                    .blockingSocketTimeoutMillis(ms + 1000)
                    .user(JedisURIHelper.getUser(parsed))
                    .password(JedisURIHelper.getPassword(parsed))
                    .ssl(JedisURIHelper.isRedisSSLScheme(parsed))
                    .clientName("resq");
            if (JedisURIHelper.hasDbIndex(parsed)) {
                config.database(JedisURIHelper.getDBIndex(parsed));
            }
            ConnectionPoolConfig pool = new ConnectionPoolConfig();
            pool.setMaxTotal(maxConnections);
            pool.setMaxIdle(maxConnections);
            pool.setMaxWait(timeout);
            return RedisClient.builder()
                    .hostAndPort(JedisURIHelper.getHostAndPort(parsed))
                    .clientConfig(config.build())
                    .poolConfig(pool)
                    .build();
        }

        /** The server's {@code proto-max-bulk-len}; Redis' default when CONFIG is disabled (managed services). */
        private static int serverBulkLimit(UnifiedJedis client) {
            try {
                Map<String, String> config = client.configGet("proto-max-bulk-len");
                String value = config.get("proto-max-bulk-len");
                if (value != null) {
                    return (int) Math.min(Integer.MAX_VALUE, Long.parseLong(value.trim()));
                }
            } catch (JedisDataException | NumberFormatException e) {
                log.debug("CONFIG GET proto-max-bulk-len not available ({}); assuming Redis' default", e.getMessage());
            }
            return REDIS_DEFAULT_MAX_BULK;
        }
    }
}
