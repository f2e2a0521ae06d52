package io.resq.kafka;

import io.resq.spi.Delivery;
import io.resq.spi.Health;
import io.resq.spi.Receiver;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.apache.kafka.clients.consumer.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives one topic (and its retry topic) for one consumer group.
 *
 * <p>Threads: a dedicated daemon thread runs the {@link PollLoop} and owns the Kafka consumer;
 * {@link #poll} is called by the caller's fetching thread and only reads the {@link DeliveryBook};
 * settles, pause, resume and close may come from any thread.
 */
final class KafkaReceiver implements Receiver {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaReceiver.class);

    private final String topic;
    private final String group;
    private final DeliveryBook book;
    private final PollLoop loop;
    private final Thread thread;
    private final Duration closeTimeout;
    private final Runnable onClose;
    private final Object closeLock = new Object();
    private boolean closed;

    KafkaReceiver(String topic, List<String> retryTopics, String group, HoldLimit holdLimit,
                  java.util.function.Supplier<Consumer<byte[], byte[]>> consumers,
                  Duration closeTimeout, Duration revocationWait, Runnable onClose) {
        this.topic = topic;
        this.group = group;
        this.book = new DeliveryBook(topic, holdLimit);
        this.loop = new PollLoop(consumers, book, topic, retryTopics, closeTimeout, revocationWait);
        this.closeTimeout = closeTimeout;
        this.onClose = onClose;
        this.thread = new Thread(loop, "resq-kafka-" + topic + "-" + group);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    @Override
    public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, was " + max);
        }
        Objects.requireNonNull(wait, "wait must not be null");
        return book.take(max, Math.max(0, wait.toNanos()));
    }

    @Override
    public void pause() {
        book.pause(true);
    }

    @Override
    public void resume() {
        book.pause(false);
    }

    /** DOWN while the consumer is being recreated or after the loop failed for good; read from the loop's volatile state. */
    @Override
    public Health health() {
        RuntimeException failed = book.failure();
        if (failed != null) {
            return Health.down("Kafka consumer of topic '" + topic + "' stopped: " + failed);
        }
        RuntimeException recovering = book.degradedBy();
        return recovering == null ? RECEIVING : Health.down("Kafka consumer of topic '" + topic + "' is being recreated after: " + recovering);
    }

    /** The loop's fatal error, or {@code null} while it runs. */
    RuntimeException failure() {
        return book.failure();
    }

    /** The error the loop is recovering from (recreating its consumer), or {@code null}. */
    RuntimeException degradedBy() {
        return book.degradedBy();
    }

    String topic() {
        return topic;
    }

    int held() {
        return book.held();
    }

    /**
     * Stops hand-outs, commits every offset below the lowest unacked record, and leaves the group;
     * unsettled deliveries stay uncommitted, so the group gets them again. Idempotent.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        book.close();
        try {
            if (!loop.awaitStopped(closeTimeout.plusSeconds(5))) {
                LOG.warn("Kafka consumer of topic '{}' (group {}) did not close within {}", topic, group, closeTimeout.plusSeconds(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            onClose.run();
        }
    }
}
