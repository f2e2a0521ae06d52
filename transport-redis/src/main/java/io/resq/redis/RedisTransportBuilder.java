package io.resq.redis;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * Options of a {@link RedisTransport}. Obtained from {@link RedisTransport#builder(String)} or
 * {@link RedisTransport#builder(UnifiedJedis)}; not thread-safe.
 */
public final class RedisTransportBuilder {

    private static final Logger log = LoggerFactory.getLogger(RedisTransportBuilder.class);

    /** Redis' default {@code proto-max-bulk-len}, used when {@code CONFIG GET} is not allowed. */
    static final int REDIS_DEFAULT_MAX_BULK = 512 * 1024 * 1024;

    private final String uri;
    private final UnifiedJedis userClient;
    private Duration visibilityTimeout = Duration.ofSeconds(30);
    private Duration timeout = Duration.ofSeconds(5);
    private long maxLength;
    private boolean deleteOnAck;
    private int maxBodySize = Integer.MAX_VALUE;
    private int maxConnections = 32;

    RedisTransportBuilder(String uri) {
        this.uri = Objects.requireNonNull(uri, "redisUri must not be null");
        this.userClient = null;
    }

    RedisTransportBuilder(UnifiedJedis client) {
        this.uri = null;
        this.userClient = Objects.requireNonNull(client, "client must not be null");
    }

    /**
     * How long a delivery may stay unsettled without a keep-alive before another consumer of the
     * group reclaims it with {@code XAUTOCLAIM}: the time after which the messages of a crashed
     * consumer come back. A live receiver refreshes its deliveries every third of it. Default 30 s.
     */
    public RedisTransportBuilder visibilityTimeout(Duration value) {
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
    public RedisTransportBuilder timeout(Duration value) {
        Objects.requireNonNull(value, "timeout must not be null");
        if (value.toMillis() < 1 || value.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("timeout must be between 1ms and " + Integer.MAX_VALUE + "ms, was " + value);
        }
        this.timeout = value;
        return this;
    }

    /**
     * Trim policy: keep about this many entries per stream ({@code XADD MAXLEN ~ n}). Trimming
     * deletes the oldest entries whether or not every group has read or acked them, so size it well
     * above the backlog you expect. Default 0: no trimming.
     */
    public RedisTransportBuilder maxLength(long value) {
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
    public RedisTransportBuilder deleteOnAck(boolean value) {
        this.deleteOnAck = value;
        return this;
    }

    /**
     * Refuse bodies larger than this, even if the server would take them. The effective limit is
     * the smaller of this and the server's {@code proto-max-bulk-len}.
     */
    public RedisTransportBuilder maxBodySize(int value) {
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
    public RedisTransportBuilder maxConnections(int value) {
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
            Settings settings = new Settings(visibilityTimeout, maxLength, deleteOnAck, limit);
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
