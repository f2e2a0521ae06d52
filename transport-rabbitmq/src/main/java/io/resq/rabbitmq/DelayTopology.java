package io.resq.rabbitmq;

import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.resq.ResqException;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one delay topology of a virtual host, shared by every queue and every application on it
 * (see {@link DelayLevels} for the arithmetic):
 *
 * <pre>
 * resq.delay.level.31 (topic) --"*.1.#"-->  queue resq.delay.level.31 (TTL 2^31 ms) --expired--> resq.delay.level.30
 *                             --"*.0.#"-->  exchange resq.delay.level.30
 * ...
 * resq.delay.level.0  (topic) --"...1.#"--> queue resq.delay.level.0 (TTL 1 ms) --expired--> resq.delay.deliver
 *                             --"...0.#"--> exchange resq.delay.deliver
 * resq.delay.deliver  (topic) --"*.*.(32 words).orders"--> queue orders
 * </pre>
 *
 * <p>Every message in a level queue has that queue's TTL, so they expire in arrival order and none
 * waits behind a longer one. With quorum queues a level dead-letters at-least-once: an expired
 * message stays in its level until the next queue confirmed it.
 *
 * <p>Declared once per transport, by the first {@link #ensureDeclared()} (when the first sender or
 * receiver is made, not when a message fails), and again only after a delayed publish found it
 * missing. Each queue is bound to {@code resq.delay.deliver} when the transport first uses it.
 * Thread-safe: declaring is serialized on this object; the flag is volatile.
 */
final class DelayTopology {

    private static final Logger LOG = LoggerFactory.getLogger(DelayTopology.class);
    static final String PREFIX = "resq.delay.level.";
    static final String DELIVER = "resq.delay.deliver";

    private final Connection connection;
    private final Endpoint endpoint;
    private final QueueType type;
    private final Topology topology;
    private volatile boolean declared;

    DelayTopology(Connection connection, Endpoint endpoint, QueueType type, Topology topology) {
        this.connection = connection;
        this.endpoint = endpoint;
        this.type = type;
        this.topology = topology;
    }

    /** The exchange a delayed message is published to: the highest level. */
    static String entry() {
        return level(DelayLevels.LEVELS - 1);
    }

    /** The name of level {@code i}'s exchange and of its queue. */
    static String level(int i) {
        return PREFIX + (i < 10 ? "0" : "") + i;
    }

    /** Declares the levels and the delivery exchange if this transport has not yet (idempotent on the broker). */
    void ensureDeclared() {
        if (declared) {
            return;
        }
        synchronized (this) {
            if (declared) {
                return;
            }
            long start = System.nanoTime();
            int mismatched = 0;
            String firstMismatch = null;
            try (Channel ch = connection.createChannel()) {
                ch.exchangeDeclare(DELIVER, BuiltinExchangeType.TOPIC, true);
                for (int i = 0; i < DelayLevels.LEVELS; i++) {
                    ch.exchangeDeclare(level(i), BuiltinExchangeType.TOPIC, true);
                }
                for (int i = 0; i < DelayLevels.LEVELS; i++) {
                    String next = i == 0 ? DELIVER : level(i - 1);
                    String mismatch = topology.declareOrReportMismatch(level(i), levelArguments(i, next));
                    if (mismatch != null) {
                        mismatched++;
                        firstMismatch = firstMismatch == null ? mismatch : firstMismatch;
                    }
                    ch.queueBind(level(i), level(i), DelayLevels.levelBinding(i, 1));
                    ch.exchangeBind(next, level(i), DelayLevels.levelBinding(i, 0));
                }
            } catch (IOException | TimeoutException | RuntimeException e) {
                throw new ResqException("cannot declare the delay queues and exchanges (" + PREFIX + "*) on " + endpoint
                        + ": " + Errors.describe(e) + "; the user needs the configure permission on them, or declare "
                        + "them as docs/transports/rabbitmq.md describes", e);
            }
            declared = true;
            if (mismatched > 0) {
                // Typically levels a transport with the other queue type declared first: they work the same.
                LOG.info("{} of the {} delay levels on {} exist with other arguments than {} queues would have; using them "
                        + "as they are ({})", mismatched, DelayLevels.LEVELS, endpoint, type, firstMismatch);
            }
            LOG.debug("Declared the {} delay levels on {} in {} ms", DelayLevels.LEVELS, endpoint,
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    /** Lets delayed messages out of the last level into {@code queue}. */
    void bind(String queue) {
        ensureDeclared();
        try (Channel ch = connection.createChannel()) {
            ch.queueBind(queue, DELIVER, DelayLevels.deliveryBinding(queue));
        } catch (IOException | TimeoutException | RuntimeException e) {
            throw new ResqException("cannot bind queue '" + queue + "' to " + DELIVER + " on " + endpoint + ": "
                    + Errors.describe(e), e);
        }
    }

    /** Makes the next {@link #ensureDeclared()} declare again (a delayed publish found the topology missing). */
    void forget() {
        declared = false;
    }

    private Map<String, Object> levelArguments(int level, String next) {
        Map<String, Object> args = new HashMap<>();
        args.put("x-queue-type", type.argument());
        args.put("x-message-ttl", 1L << level);
        args.put("x-dead-letter-exchange", next);
        if (type == QueueType.QUORUM) {
            // An expired message stays in its level until the next queue confirmed it.
            args.put("x-dead-letter-strategy", "at-least-once");
            args.put("x-overflow", "reject-publish");
        }
        return args;
    }
}
