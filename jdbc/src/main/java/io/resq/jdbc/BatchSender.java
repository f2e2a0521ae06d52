package io.resq.jdbc;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one batch of outbox rows and marks each row only after the broker confirmed it.
 *
 * <p>The rows of one queue go in one {@link Sender#send(List)} call, in seq order, so a key's order
 * holds within the batch; the queues of a batch are sent at once. A queue whose send failed keeps
 * its rows unmarked: the next batch reads them again, from the first, so order holds across retries
 * (a batch that the broker partly stored before failing is sent again whole: duplicates, never gaps).
 *
 * <p>Rows that can never be sent go to the dead-letter table instead: a body over the transport's
 * {@link Transport#maxBodySize()}, headers that do not read, or a row the broker refuses with an
 * {@link IllegalArgumentException} (the transport SPI's "too large") when sent alone.
 *
 * <p>Not thread-safe: owned by the relay thread; the counters are read by any thread.
 */
final class BatchSender {

    private static final Logger log = LoggerFactory.getLogger(BatchSender.class);

    private final Transport transport;
    private final Duration sendTimeout;
    private final Map<String, Sender> senders = new HashMap<>();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong deadLettered = new AtomicLong();

    BatchSender(Transport transport, Duration sendTimeout) {
        this.transport = transport;
        this.sendTimeout = sendTimeout;
    }

    /**
     * Sends {@code rows} (seq order) and marks what was confirmed.
     *
     * @throws BrokerRefusedException when some queue's rows were not confirmed (they stay unsent)
     * @throws SQLException           when marking failed: the session is lost, the rows are sent again later
     */
    void send(RelaySession session, List<OutboxRow> rows) throws SQLException, InterruptedException {
        Map<String, List<OutboxRow>> rowsByQueue = new LinkedHashMap<>();
        Map<String, List<Outbound>> outsByQueue = new LinkedHashMap<>();
        int maxBody = transport.maxBodySize();
        for (OutboxRow row : rows) {
            Outbound out;
            try {
                out = row.toOutbound();
            } catch (IllegalArgumentException e) {
                deadLetter(session, row, e.getMessage());
                continue;
            }
            if (row.body().length > maxBody) {
                deadLetter(session, row, "body of " + row.body().length + " bytes is over the transport's limit of "
                        + maxBody + " bytes");
                continue;
            }
            rowsByQueue.computeIfAbsent(row.queue(), q -> new ArrayList<>()).add(row);
            outsByQueue.computeIfAbsent(row.queue(), q -> new ArrayList<>()).add(out);
        }
        Map<String, CompletableFuture<Void>> pending = new LinkedHashMap<>();
        outsByQueue.forEach((queue, outs) -> pending.put(queue, start(queue, outs)));

        BrokerRefusedException refused = null;
        for (Map.Entry<String, CompletableFuture<Void>> e : pending.entrySet()) {
            String queue = e.getKey();
            List<OutboxRow> queueRows = rowsByQueue.get(queue);
            Throwable failure = await(e.getValue());
            if (failure == null) {
                session.markSent(queueRows);
                sent.addAndGet(queueRows.size());
                continue;
            }
            if (failure instanceof IllegalArgumentException) {
                failure = oneByOne(session, queue, queueRows, outsByQueue.get(queue));
                if (failure == null) {
                    continue;
                }
            }
            if (refused == null) {
                refused = new BrokerRefusedException("the broker did not confirm " + queueRows.size() + " row(s) for "
                        + queue + ": " + failure, failure);
            }
        }
        if (refused != null) {
            throw refused;
        }
    }

    /**
     * Sends a queue's rows one at a time, in order, to find those the broker refuses as invalid;
     * they go to the dead-letter table. Stops at the first other failure and returns it.
     */
    private Throwable oneByOne(RelaySession session, String queue, List<OutboxRow> rows, List<Outbound> outs)
            throws SQLException, InterruptedException {
        for (int i = 0; i < rows.size(); i++) {
            Throwable failure = await(start(queue, List.of(outs.get(i))));
            if (failure == null) {
                session.markSent(List.of(rows.get(i)));
                sent.incrementAndGet();
            } else if (failure instanceof IllegalArgumentException) {
                deadLetter(session, rows.get(i), "the broker refused it: " + failure.getMessage());
            } else {
                return failure;
            }
        }
        return null;
    }

    private CompletableFuture<Void> start(String queue, List<Outbound> outs) {
        try {
            return senders.computeIfAbsent(queue, transport::sender).send(outs);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The failure of a send, or {@code null} once the broker confirmed it. */
    private Throwable await(CompletableFuture<Void> future) throws InterruptedException {
        try {
            future.get(sendTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException | CompletionException e) {
            return e.getCause() != null ? e.getCause() : e;
        } catch (TimeoutException e) {
            return new TimeoutException("no confirmation within " + sendTimeout.toMillis() + " ms (sendTimeout)");
        }
    }

    private void deadLetter(RelaySession session, OutboxRow row, String reason) throws SQLException {
        session.deadLetter(row, reason);
        deadLettered.incrementAndGet();
        log.warn("outbox row {} (message {}, queue {}) moved to the dead-letter table: {}", row.seq(), row.id(), row.queue(), reason);
    }
}
