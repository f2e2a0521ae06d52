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
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
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

    private static final long MAX_RECOVERY_BACKOFF_MS = 30_000;
    /** How the Kafka client begins the error for a record it cannot read, followed by {@code <topic>-<partition>.}. */
    private static final String UNREADABLE_RECORD_PREFIX = "Received exception when fetching the next record from ";

    /** Makes the consumer, again after a failure: every one with the same settings. */
    private final Supplier<Consumer<byte[], byte[]>> consumers;
    /** Loop thread only (after construction): the consumer in use; replaced when it fails. */
    private Consumer<byte[], byte[]> consumer;
    /** Loop thread only: failures in a row, 0 while polling works. */
    private int recovering;
    private long lastRecoveryLog;
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
    /** Loop thread only: failed async commits since the last warning, and when that was. */
    private int failedCommits;
    private long lastCommitWarning;
    /** Loop thread only: the last record skipped as unreadable, so a skip that does not move on is not repeated. */
    private TopicPartition lastSkipped;
    private long lastSkippedOffset = -1;
    /** Loop thread only: whether the last {@link #updatePauses} paused a partition for backpressure. */
    private boolean backpressured;

    PollLoop(Supplier<Consumer<byte[], byte[]>> consumers, DeliveryBook book, String topic, List<String> retryTopics,
             Duration closeTimeout, Duration revocationWait) {
        this.revocationWait = revocationWait;
        this.consumers = consumers;
        this.consumer = consumers.get();
        this.book = book;
        this.topic = topic;
        this.retryTopics = Set.copyOf(retryTopics);
        this.closeTimeout = closeTimeout;
    }

    @Override
    public void run() {
        try {
            subscribe();
            while (!book.closing()) {
                try {
                    pollOnce();
                    if (recovering > 0) {
                        LOG.info("Kafka consumer of topic '{}' polls again after {} failure(s)", topic, recovering);
                        recovering = 0;
                        book.degraded(null);
                    }
                } catch (InterruptException e) {
                    throw e;
                } catch (RuntimeException e) {
                    if (skippedPastUnreadable(e)) {
                        continue;
                    }
                    if (!recoverable(e)) {
                        throw e;
                    }
                    recover(e);
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

    private void subscribe() {
        List<String> topics = new ArrayList<>(retryTopics);
        topics.add(0, topic);
        consumer.subscribe(topics, this);
    }

    private void pollOnce() throws InterruptedException {
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

    /**
     * When {@code e} says the consumer cannot read the record at its position in one of its
     * partitions (a checksum that fails, a record it cannot parse), hands out an empty stand-in for
     * that record, which resq dead-letters with the reason, and seeks past it; returns whether it did.
     * The consumer would otherwise throw the same error on every poll, and a new consumer too.
     * A record of a damaged batch is skipped one offset at a time: each becomes a dead letter.
     */
    private boolean skippedPastUnreadable(RuntimeException e) {
        try {
            return skippedUnreadable(e);
        } catch (RuntimeException lookup) {
            // Reading the position failed too (the broker went away, say): recover as from any error.
            LOG.debug("Kafka consumer of topic '{}' could not skip past an unreadable record: {}", topic, lookup.toString());
            return false;
        }
    }

    private boolean skippedUnreadable(RuntimeException e) {
        TopicPartition tp = null;
        long offset = -1;
        if (e instanceof RecordDeserializationException rde) {
            tp = rde.topicPartition();
            offset = rde.offset();
        } else if (e instanceof KafkaException && e.getMessage() != null
                && e.getMessage().startsWith(UNREADABLE_RECORD_PREFIX)) {
            // The client names the partition only in its message; match it against ours.
            for (TopicPartition assigned : consumer.assignment()) {
                if (e.getMessage().startsWith(UNREADABLE_RECORD_PREFIX + assigned + ".")) {
                    tp = assigned;
                    offset = consumer.position(assigned, closeTimeout);
                    break;
                }
            }
        }
        if (tp == null || offset < 0 || (tp.equals(lastSkipped) && offset <= lastSkippedOffset)) {
            return false; // not ours to skip, or skipping did not move the consumer on
        }
        lastSkipped = tp;
        lastSkippedOffset = offset;
        String reason = "record at offset " + offset + " of partition " + tp + " is corrupt and cannot be read ("
                + innermostMessage(e) + "); it was skipped";
        LOG.warn("Kafka consumer of topic '{}' skips the unreadable record {}@{}; it goes to the dead-letter queue: {}",
                topic, tp, offset, innermostMessage(e));
        book.addUnreadable(tp, offset, reason);
        consumer.seek(tp, offset + 1);
        return true;
    }

    private static String innermostMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /**
     * Whether the receiver may go on after {@code e}: everything that can pass (fencing, an
     * authentication or authorization blip, a timeout, a broker error) is; a bad configuration
     * or an error of this code is not.
     */
    private static boolean recoverable(RuntimeException e) {
        return e instanceof KafkaException && !(e instanceof ConfigException) && !(e instanceof InvalidGroupIdException)
                && !(e instanceof UnsupportedVersionException);
    }

    /**
     * Drops the consumer that failed (what it held goes back to the group uncommitted; late acks
     * of its hand-outs are ignored), waits a growing back-off (1 s doubling to 30 s, cut short by
     * close), and subscribes a new consumer with the same settings, static member id included.
     * Logs at WARN once per failure streak and then at most once a minute.
     */
    private void recover(RuntimeException e) throws InterruptedException {
        recovering++;
        long backoff = Math.min(MAX_RECOVERY_BACKOFF_MS, 1000L << Math.min(5, recovering - 1));
        book.degraded(e);
        long now = System.currentTimeMillis();
        if (recovering == 1 || now - lastRecoveryLog >= 60_000) {
            lastRecoveryLog = now;
            LOG.warn("Kafka consumer of topic '{}' failed ({}); recreating it in {} ms (failure {} in a row)", topic, e.toString(),
                    backoff, recovering);
        }
        dueAt.clear();
        book.revoke(book.assignedPartitions(), false);
        try {
            consumer.close(CloseOptions.timeout(Duration.ZERO));
        } catch (RuntimeException closing) {
            LOG.debug("Closing the failed Kafka consumer of topic '{}': {}", topic, closing.toString());
        }
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff);
        for (long left = until - System.nanoTime(); left > 0 && !book.closing(); left = until - System.nanoTime()) {
            book.awaitLoopWork(left); // woken early by settles and by close
        }
        if (book.closing()) {
            consumer = null;
            return;
        }
        consumer = consumers.get();
        subscribe();
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
            // The callback runs on this thread, inside a later poll or commit.
            consumer.commitAsync(offsets, (done, error) -> {
                if (error != null) {
                    commitFailed(offsets, error);
                }
            });
        }
    }

    /** Loop thread: the commit goes out again with the next one; a WARN at most once a minute says so. */
    private void commitFailed(Map<TopicPartition, OffsetAndMetadata> offsets, Exception error) {
        book.commitFailed(offsets);
        failedCommits++;
        long now = System.currentTimeMillis();
        if (now - lastCommitWarning >= 60_000) {
            LOG.warn("Offset commit for topic '{}' failed ({}); retrying with the next commit ({} failed commit(s) since the last warning)",
                    topic, error.toString(), failedCommits);
            lastCommitWarning = now;
            failedCommits = 0;
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
        if (consumer == null) {
            stopped.countDown();
            return;
        }
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
