package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ShutdownSignalException;
import io.resq.ResqException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Declares the queues the transport uses: work queues with their dead-letter queues, and (through
 * {@link DelayTopology}) the delay levels shared by all queues of the virtual host.
 *
 * <p>A work queue {@code orders} is declared with a dead-letter exchange: a message the broker
 * gives up on (a quorum queue's delivery limit, a policy's length limit) goes to
 * {@code orders_deadletter}, declared along with it, instead of being dropped; with quorum queues
 * at-least-once, so it leaves {@code orders} only once {@code orders_deadletter} has it. A queue
 * whose name ends in {@value #DEAD_LETTER_SUFFIX} is a dead-letter queue and is declared without
 * one: dead letters stop there.
 *
 * <p>Declare-or-use-existing: with declaring on, a queue is declared durable with the configured
 * type; if it already exists with other arguments (RabbitMQ answers 406 PRECONDITION_FAILED) it is
 * used as it is and a warning is logged. With declaring off, a queue must exist (passive declare),
 * otherwise the caller gets an error naming the queue and the broker.
 *
 * <p>Thread-safe: each declaration runs on its own short-lived channel (a failed declaration
 * closes its channel), and the cache is a concurrent set.
 */
final class Topology {

    private static final Logger LOG = LoggerFactory.getLogger(Topology.class);
    private static final int PRECONDITION_FAILED = 406;
    private static final int NOT_FOUND = 404;
    /** Where the broker dead-letters a queue's messages: the core's default dead-letter queue name. */
    static final String DEAD_LETTER_SUFFIX = "_deadletter";

    private final Connection connection;
    private final Endpoint endpoint;
    private final QueueType type;
    private final boolean declare;
    private final DelayTopology delays;
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    Topology(Connection connection, Endpoint endpoint, QueueType type, boolean declare) {
        this.connection = connection;
        this.endpoint = endpoint;
        this.type = type;
        this.declare = declare;
        this.delays = new DelayTopology(connection, endpoint, type, this);
    }

    /**
     * Makes sure {@code queue} exists (declaring it, its dead-letter queue and its binding to the
     * delay topology if configured to).
     */
    void ensureQueue(String queue) {
        if (known.contains(queue)) {
            return;
        }
        if (!declare) {
            passive(queue);
        } else if (queue.endsWith(DEAD_LETTER_SUFFIX)) {
            declareOrUseExisting(queue, arguments());
            delays.bind(queue);
        } else {
            String deadLetters = queue + DEAD_LETTER_SUFFIX;
            ensureQueue(deadLetters);
            Map<String, Object> args = arguments();
            args.put("x-dead-letter-exchange", "");
            args.put("x-dead-letter-routing-key", deadLetters);
            if (type == QueueType.QUORUM) {
                // The message stays in the queue until the dead-letter queue confirmed it.
                args.put("x-dead-letter-strategy", "at-least-once");
                args.put("x-overflow", "reject-publish");
            }
            declareOrUseExisting(queue, args);
            delays.bind(queue);
        }
        known.add(queue);
    }

    /** Declares the shared delay levels if declaring is on and this transport has not yet. */
    void ensureDelays() {
        if (declare) {
            delays.ensureDeclared();
        }
    }

    /**
     * A publish for {@code queue} came back unroutable: the queue, or for a delayed one the delay
     * levels, went missing; the next use declares them again.
     */
    void unroutable(String queue, boolean delayed) {
        forget(queue);
        if (delayed) {
            delays.forget();
        }
    }

    /** Forgets what is known about {@code queue}, so the next use declares it again (after it was found missing). */
    void forget(String queue) {
        known.remove(queue);
    }

    private Map<String, Object> arguments() {
        Map<String, Object> args = new HashMap<>();
        args.put("x-queue-type", type.argument());
        return args;
    }

    /** Declares {@code queue} durable with {@code args}, or uses it as it is (with a warning) if it exists with other arguments. */
    void declareOrUseExisting(String queue, Map<String, Object> args) {
        String mismatch = declareOrReportMismatch(queue, args);
        if (mismatch == null) {
            return;
        }
        Object deadLetters = args.get("x-dead-letter-routing-key");
        LOG.warn("Queue '{}' already exists on {} with other arguments than {}; using it as it is ({}).{}", queue, endpoint,
                args, mismatch, deadLetters == null ? "" : " If it has no dead-letter exchange to " + deadLetters
                        + ", the broker drops a message it gives up on (a quorum queue's delivery limit): give it a policy "
                        + "with dead-letter-exchange \"\" and dead-letter-routing-key " + deadLetters
                        + " (see the RabbitMQ transport's docs)");
    }

    /**
     * Declares {@code queue} durable with {@code args}; returns {@code null} if that worked, or the
     * broker's reason when the queue exists with other arguments (it is then used as it is).
     */
    String declareOrReportMismatch(String queue, Map<String, Object> args) {
        String mismatch;
        try (Channel ch = connection.createChannel()) {
            ch.queueDeclare(queue, true, false, false, args);
            return null;
        } catch (IOException e) {
            if (replyCode(e) != PRECONDITION_FAILED) {
                throw failure("cannot declare queue '" + queue + "'", e);
            }
            mismatch = replyText(e);
        } catch (TimeoutException | RuntimeException e) {
            throw failure("cannot declare queue '" + queue + "'", e);
        }
        passive(queue);
        return mismatch;
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
        return Errors.replyCode(e);
    }

    private static String replyText(Throwable e) {
        ShutdownSignalException s = Errors.shutdownSignal(e);
        if (s != null && s.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyText();
        }
        return Errors.describe(e);
    }
}
