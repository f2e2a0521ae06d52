package io.resq.kafka;

import java.time.Duration;
import java.util.Collection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that owns a receiver's {@link Consumer}. No other thread touches the consumer.
 *
 * <p>It polls all the time, whatever the handlers do, so a slow handler never exceeds
 * {@code max.poll.interval.ms}: partitions whose held records reach the hold limit are paused
 * (Kafka's own pause/resume) rather than left unpolled. Retry-topic partitions whose next record
 * is not due yet are sought back to that record and paused until it is due, so delays never make
 * the loop sleep. Offsets are committed asynchronously as acks make the contiguous prefix grow,
 * synchronously on revocation and on close.
 */
final class PollLoop implements Runnable, ConsumerRebalanceListener {

    private static final Logger LOG = LoggerFactory.getLogger(PollLoop.class);
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration POLL_WHILE_PAUSED = Duration.ofMillis(2);
    private static final long IDLE_WAIT_MS = 20;
    private static final long COMMIT_INTERVAL_MS = 100;

    private final Consumer<byte[], byte[]> consumer;
    private final DeliveryBook book;
    private final String topic;
    /** The retry topics read with the topic: the shared one of delayed sends and the group's own. */
    private final Set<String> retryTopics;
    private final Duration closeTimeout;
    /** How long a revocation waits for handed-out records of the revoked partitions to settle. */
    private final Duration revocationWait;
    /** Loop thread only: retry-topic partitions held back, and until when (epoch ms). */
    private final Map<TopicPartition, Long> dueAt = new HashMap<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private long lastCommitMs;
    /** Loop thread only: whether the last {@link #updatePauses} paused a partition for backpressure. */
    private boolean backpressured;

    PollLoop(Consumer<byte[], byte[]> consumer, DeliveryBook book, String topic, List<String> retryTopics, Duration closeTimeout,
             Duration revocationWait) {
        this.revocationWait = revocationWait;
        this.consumer = consumer;
        this.book = book;
        this.topic = topic;
        this.retryTopics = Set.copyOf(retryTopics);
        this.closeTimeout = closeTimeout;
    }

    @Override
    public void run() {
        try {
            List<String> topics = new ArrayList<>(retryTopics);
            topics.add(0, topic);
            consumer.subscribe(topics, this);
            while (!book.closing()) {
                boolean fetchable = updatePauses();
                // Pause state changes only between polls: while a partition is paused for
                // backpressure, a long poll would keep it paused after its records were handled.
                Duration timeout = !fetchable ? Duration.ZERO : backpressured ? POLL_WHILE_PAUSED : POLL;
                ConsumerRecords<byte[], byte[]> records = consumer.poll(timeout);
                hold(records);
                commitIfDue();
                if (!fetchable) {
                    book.awaitLoopWork(DeliveryBook.millis(untilNextDue()));
                }
            }
        } catch (InterruptException | InterruptedException e) {
            LOG.warn("Kafka poll loop for topic '{}' was interrupted; closing its consumer", topic);
            book.fail(new IllegalStateException("poll loop interrupted", e));
        } catch (RuntimeException e) {
            LOG.error("Kafka poll loop for topic '{}' failed; the receiver stops: {}", topic, e.toString());
            book.fail(e);
        } finally {
            shutDown();
        }
    }

    /** Pauses what must not be fetched now; returns whether any assigned partition may fetch. */
    private boolean updatePauses() {
        Set<TopicPartition> assignment = consumer.assignment();
        if (assignment.isEmpty()) {
            return true;
        }
        Set<TopicPartition> want = new HashSet<>();
        backpressured = false;
        if (book.paused()) {
            want.addAll(assignment);
        } else {
            want.addAll(book.full());
            backpressured = !want.isEmpty();
            long now = System.currentTimeMillis();
            dueAt.entrySet().removeIf(e -> e.getValue() <= now || !assignment.contains(e.getKey()));
            want.addAll(dueAt.keySet());
            want.retainAll(assignment);
            if (everyMainPartitionIn(assignment, want)) {
                // A fetch for the retry topic alone would keep the broker (fetch.max.wait.ms) and
                // poll() waiting while acks make the busy partitions resumable; with everything
                // paused the loop waits for a settle instead and fetches as soon as one resumes.
                for (TopicPartition tp : assignment) {
                    if (retryTopics.contains(tp.topic())) {
                        want.add(tp);
                    }
                }
            }
        }
        Set<TopicPartition> current = consumer.paused();
        Set<TopicPartition> toPause = new HashSet<>(want);
        toPause.removeAll(current);
        Set<TopicPartition> toResume = new HashSet<>(current);
        toResume.removeAll(want);
        toResume.retainAll(assignment);
        if (!toPause.isEmpty()) {
            consumer.pause(toPause);
        }
        if (!toResume.isEmpty()) {
            consumer.resume(toResume);
        }
        return want.size() < assignment.size();
    }

    /** True when {@code assignment} has partitions of the main topic and {@code paused} holds them all. */
    private boolean everyMainPartitionIn(Set<TopicPartition> assignment, Set<TopicPartition> paused) {
        boolean any = false;
        for (TopicPartition tp : assignment) {
            if (tp.topic().equals(topic)) {
                if (!paused.contains(tp)) {
                    return false;
                }
                any = true;
            }
        }
        return any;
    }

    private void hold(ConsumerRecords<byte[], byte[]> records) {
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> list = records.records(tp);
            int take = list.size();
            if (retryTopics.contains(tp.topic())) {
                long now = System.currentTimeMillis();
                for (int i = 0; i < list.size(); i++) {
                    long due = HeaderMapping.due(list.get(i).headers());
                    if (due > now) {
                        // Not due: read it again later, and fetch nothing from here until then.
                        take = i;
                        consumer.seek(tp, list.get(i).offset());
                        consumer.pause(List.of(tp));
                        dueAt.put(tp, due);
                        break;
                    }
                }
            }
            long fetchedUpTo = take < list.size() ? list.get(take).offset() : list.get(list.size() - 1).offset() + 1;
            book.add(tp, list.subList(0, take), fetchedUpTo);
        }
    }

    private long untilNextDue() {
        long wait = IDLE_WAIT_MS;
        long now = System.currentTimeMillis();
        for (long due : dueAt.values()) {
            wait = Math.min(wait, Math.max(1, due - now));
        }
        return wait;
    }

    private void commitIfDue() {
        long now = System.currentTimeMillis();
        if (now - lastCommitMs < COMMIT_INTERVAL_MS) {
            return;
        }
        lastCommitMs = now;
        Map<TopicPartition, OffsetAndMetadata> offsets = book.commitsDue();
        if (!offsets.isEmpty()) {
            consumer.commitAsync(offsets, (done, error) -> {
                if (error != null) {
                    // A later commit (or the one on close/revocation) covers these offsets.
                    LOG.debug("Async offset commit for topic '{}' failed: {}", topic, error.toString());
                }
            });
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        dueAt.keySet().removeAll(partitions);
        if (partitions.isEmpty()) {
            return;
        }
        try {
            // Runs inside poll(): the wait is bounded well below max.poll.interval.ms.
            int running = book.drainForRevocation(partitions, revocationWait.toNanos());
            if (running > 0) {
                LOG.warn("Kafka consumer of topic '{}' gives up partitions {} with {} record(s) still being handled after {} ms; "
                        + "their next owner will handle them again", topic, partitions, running, revocationWait.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        commitSync(book.revoke(partitions, true), "revocation");
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        book.assigned(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        dueAt.keySet().removeAll(partitions);
        book.revoke(partitions, false);
        LOG.warn("Kafka consumer of topic '{}' lost partitions {} without committing; their unacked records will be delivered again",
                topic, partitions);
    }

    private void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, String why) {
        if (offsets.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(offsets, closeTimeout);
        } catch (RuntimeException e) {
            LOG.warn("Offset commit on {} for topic '{}' failed ({}); records after the last commit will be delivered again",
                    why, topic, e.toString());
        }
    }

    private void shutDown() {
        try {
            commitSync(book.finish(), "close");
            consumer.close(CloseOptions.timeout(closeTimeout));
        } catch (RuntimeException e) {
            LOG.warn("Closing the Kafka consumer of topic '{}' failed: {}", topic, e.toString());
        } finally {
            stopped.countDown();
        }
    }

    /** Waits for the loop to commit and close its consumer. */
    boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
