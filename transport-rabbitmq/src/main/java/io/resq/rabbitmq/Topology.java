package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.resq.ResqException;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Declares the queues the transport uses: work queues, and one delay queue per distinct
 * (queue, delay) whose messages expire into the work queue.
 *
 * <p>Declare-or-use-existing: with declaring on, a queue is declared durable with the configured
 * type; if it already exists with other arguments (RabbitMQ answers 406 PRECONDITION_FAILED) it is
 * used as it is and a warning is logged. With declaring off, a queue must exist (passive declare),
 * otherwise the caller gets an error naming the queue and the broker.
 *
 * <p>Thread-safe: each declaration runs on its own short-lived channel (a failed declaration
 * closes its channel), and the caches are concurrent maps.
 */
final class Topology {

    private static final Logger LOG = LoggerFactory.getLogger(Topology.class);
    private static final int PRECONDITION_FAILED = 406;
    private static final int NOT_FOUND = 404;
    /** RabbitMQ keeps x-message-ttl in an unsigned 32-bit field. */
    static final long MAX_DELAY_MILLIS = 0xFFFF_FFFFL;

    private final Connection connection;
    private final Endpoint endpoint;
    private final QueueType type;
    private final boolean declare;
    private final Set<String> known = ConcurrentHashMap.newKeySet();
    /** Delay queue name to System.nanoTime() of its last declaration, which renews its x-expires lease. */
    private final Map<String, Long> delayDeclaredAt = new ConcurrentHashMap<>();

    Topology(Connection connection, Endpoint endpoint, QueueType type, boolean declare) {
        this.connection = connection;
        this.endpoint = endpoint;
        this.type = type;
        this.declare = declare;
    }

    /** Makes sure {@code queue} exists (declaring it if configured to). */
    void ensureQueue(String queue) {
        if (known.contains(queue)) {
            return;
        }
        Map<String, Object> args = new HashMap<>();
        args.put("x-queue-type", type.argument());
        if (declare) {
            declareOrUseExisting(queue, args);
        } else {
            passive(queue);
        }
        known.add(queue);
    }

    /**
     * The name of the delay queue that holds messages for {@code queue} for {@code delay} (rounded
     * up, see {@link #bucket(Duration)}), declared if new or if its lease needs renewing.
     */
    String delayQueue(String queue, Duration delay) {
        long millis = bucket(delay);
        String name = queue + "_delay_" + millis + "ms";
        long expires = 2 * millis + Duration.ofMinutes(30).toMillis();
        Long last = delayDeclaredAt.get(name);
        // Publishing does not renew a queue's x-expires lease, redeclaring does. Redeclaring every
        // expires/4 keeps the queue alive until its newest message expired, since expires > 4/3 delay.
        if (last == null || System.nanoTime() - last > Duration.ofMillis(expires / 4).toNanos()) {
            Map<String, Object> args = new HashMap<>();
            args.put("x-queue-type", type.argument());
            args.put("x-message-ttl", millis);
            args.put("x-expires", expires);
            args.put("x-dead-letter-exchange", "");
            args.put("x-dead-letter-routing-key", queue);
            if (type == QueueType.QUORUM) {
                // The message stays in the delay queue until the work queue confirmed it.
                args.put("x-dead-letter-strategy", "at-least-once");
                args.put("x-overflow", "reject-publish");
            }
            declareOrUseExisting(name, args);
            delayDeclaredAt.put(name, System.nanoTime());
        }
        return name;
    }

    /** Forgets what is known about {@code queue}, so the next use declares it again (after it was found missing). */
    void forget(String queue) {
        known.remove(queue);
        delayDeclaredAt.remove(queue);
    }

    /**
     * Delays are rounded up so that the number of delay queues stays bounded whatever the retry
     * policy's jitter: to 100 ms below 10 s, to 1 s below 10 min, to 1 min above.
     */
    static long bucket(Duration delay) {
        long ms = Math.max(1, (delay.toNanos() + 999_999) / 1_000_000);
        long step = ms < 10_000 ? 100 : ms < 600_000 ? 1_000 : 60_000;
        long rounded = (ms + step - 1) / step * step;
        if (rounded > MAX_DELAY_MILLIS) {
            throw new IllegalArgumentException("delay must be <= " + MAX_DELAY_MILLIS + " ms (RabbitMQ's TTL limit), was " + delay);
        }
        return rounded;
    }

    private void declareOrUseExisting(String queue, Map<String, Object> args) {
        try (Channel ch = connection.createChannel()) {
            ch.queueDeclare(queue, true, false, false, args);
            return;
        } catch (IOException e) {
            if (replyCode(e) != PRECONDITION_FAILED) {
                throw failure("cannot declare queue '" + queue + "'", e);
            }
            LOG.warn("Queue '{}' already exists on {} with other arguments than {}; using it as it is ({})",
                    queue, endpoint, args, replyText(e));
        } catch (TimeoutException | RuntimeException e) {
            throw failure("cannot declare queue '" + queue + "'", e);
        }
        passive(queue);
    }

    private void passive(String queue) {
        try (Channel ch = connection.createChannel()) {
            ch.queueDeclarePassive(queue);
        } catch (IOException e) {
            if (replyCode(e) == NOT_FOUND) {
                throw new ResqException("queue '" + queue + "' does not exist on " + endpoint
                        + (declare ? "" : " and declaring queues is turned off (declareQueues(false))"), e);
            }
            throw failure("cannot check queue '" + queue + "'", e);
        } catch (TimeoutException | RuntimeException e) {
            throw failure("cannot check queue '" + queue + "'", e);
        }
    }

    private ResqException failure(String what, Exception e) {
        return new ResqException(what + " on " + endpoint + ": " + Errors.describe(e), e);
    }

    private static int replyCode(Throwable e) {
        ShutdownSignalException s = Errors.shutdownSignal(e);
        if (s != null && s.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyCode();
        }
        return -1;
    }

    private static String replyText(Throwable e) {
        ShutdownSignalException s = Errors.shutdownSignal(e);
        if (s != null && s.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyText();
        }
        return Errors.describe(e);
    }
}
