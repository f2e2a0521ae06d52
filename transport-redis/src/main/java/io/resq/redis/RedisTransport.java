package io.resq.redis;

import io.resq.spi.Capability;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.util.ArrayList;
import java.util.EnumSet;
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
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

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
 *   <li>Ack: {@code XACK}, plus {@code XDEL} with {@link RedisTransportBuilder#deleteOnAck(boolean)}.</li>
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
    public static RedisTransportBuilder builder(String redisUri) {
        return new RedisTransportBuilder(redisUri);
    }

    /**
     * A builder for a transport over a client the application already has ({@code RedisClient},
     * {@code JedisPooled}, {@code RedisClusterClient}, ...): its pool, TLS, auth and timeouts are
     * used as they are, and {@link #close()} leaves it open. Its socket timeout must exceed the
     * 250 ms blocking-read slice.
     */
    public static RedisTransportBuilder builder(UnifiedJedis client) {
        return new RedisTransportBuilder(client);
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
}
