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
import java.util.List;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
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
 *   <li>Send: {@code XADD} (pipelined per batch); the body is the field {@code body}, the id
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
 * consumer; the thread and, when built from a URI, the client end with {@link #close()}.
 */
public final class RedisTransport implements Transport {

    private static final Logger log = LoggerFactory.getLogger(RedisTransport.class);

    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.DELAYED_DELIVERY, Capability.CONSUMER_GROUPS, Capability.DELIVERY_COUNT, Capability.PAUSE));

    private final UnifiedJedis client;
    private final boolean ownsClient;
    private final Endpoint endpoint;
    private final Settings settings;
    private final Set<RedisReceiver> receivers = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService keepAlive;
    private final AtomicBoolean closed = new AtomicBoolean();

    RedisTransport(UnifiedJedis client, boolean ownsClient, Endpoint endpoint, Settings settings) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.endpoint = endpoint;
        this.settings = settings;
        this.keepAlive = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "resq-redis-background");
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
     * 250 ms blocking-read slice.
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
        return new RedisSender(this, queue);
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
        receivers.add(r);
        if (closed.get()) {
            r.close();
            throw new IllegalStateException("Redis transport is closed; cannot receive from stream " + queue);
        }
        return r;
    }

    @Override
    public Health health() {
        if (closed.get()) {
            return Health.down("Redis transport to " + endpoint + " is closed");
        }
        try {
            String pong = client.ping();
            return Health.up("Redis at " + endpoint + " answered " + pong + "; " + receivers.size() + " receivers");
        } catch (RuntimeException e) {
            return Health.down("Redis at " + endpoint + " is not answering: " + Endpoint.causeText(e));
        }
    }

    /** The body limit: the server's {@code proto-max-bulk-len}, or the lower limit set on the builder. */
    @Override
    public int maxBodySize() {
        return settings.maxBodySize();
    }

    /** Closes every receiver (releasing unsettled deliveries), the keep-alive thread and an owned client. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // Receivers first: their close flushes queued acks and releases what is unsettled.
        new ArrayList<>(receivers).forEach(RedisReceiver::close);
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
         * A hard cap: keep about this many entries per stream ({@code XADD MAXLEN ~ n}). Unlike the
         * safe trimming of {@link #trimInterval(Duration)}, this deletes the oldest entries whether
         * or not every group has read or acked them: an entry deleted while pending is reported at
         * WARN when a consumer finds it gone, one deleted unread is never seen by anyone. Size it
         * well above the backlog you expect. Default 0: no cap.
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
         * read, senders borrow one per batch. Default 32. Ignored for a user-supplied client.
         */
        public Builder maxConnections(int value) {
            if (value < 2) {
                throw new IllegalArgumentException("maxConnections must be >= 2, was " + value);
            }
            this.maxConnections = value;
            return this;
        }

        /**
         * Connects, checks that Redis answers and reads its body limit.
         *
         * @throws IllegalArgumentException if the URI is not a redis:// or rediss:// URI with a host
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
            try {
                client.ping();
                int limit = Math.min(maxBodySize, serverBulkLimit(client));
                Settings settings = new Settings(visibilityTimeout, maxLength, deleteOnAck, limit, trimInterval, newGroupsFromStart,
                        idleConsumerTimeout);
                log.debug("Redis transport to {}: body limit {} bytes, visibility timeout {}", endpoint, limit, visibilityTimeout);
                return new RedisTransport(client, userClient == null, endpoint, settings);
            } catch (RuntimeException e) {
                if (userClient == null) {
                    client.close();
                }
                throw endpoint.failure("connecting", e);
            }
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
