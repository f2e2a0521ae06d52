package io.resq.redis;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Sends to one stream. The caller's thread checks and encodes the batch; the stream's
 * {@link StreamWriter} writes it, together with every other send to the stream outstanding at the
 * time, as one pipelined round trip, and completes the returned future from Redis' replies (with
 * {@code appendfsync always}, a reply means the write is on disk). A send that finds no round trip
 * to the stream under way goes out at once.
 *
 * <p>Thread-safe. The returned future is completed on a thread of the transport's send pool that
 * has already handed the writing on, or is complete on return: when the send was refused before
 * being queued (an oversized body, a reserved header, a closed transport), or written on the
 * caller's thread because that thread waits for each send and nothing else was under way.
 */
final class RedisSender implements Sender {

    private final RedisTransport transport;
    private final String queue;
    private final StreamWriter writer;

    RedisSender(RedisTransport transport, String queue, StreamWriter writer) {
        this.transport = transport;
        this.queue = queue;
        this.writer = writer;
    }

    @Override
    public CompletableFuture<Void> send(List<Outbound> messages) {
        Objects.requireNonNull(messages, "messages must not be null");
        if (transport.isClosed()) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "Redis transport is closed; cannot send to stream " + queue));
        }
        if (messages.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        int limit = transport.maxBodySize();
        List<List<byte[]>> now = new ArrayList<>(messages.size());
        // Per sorted set: the shared one of delayed sends, or a group's own for its redeliveries.
        Map<String, List<byte[]>> delayed = null;
        long bytes = 0;
        try {
            for (Outbound m : messages) {
                if (m.body().length > limit) {
                    throw new IllegalArgumentException("message " + m.id() + " has a body of " + m.body().length
                            + " bytes, over the Redis transport's limit of " + limit + " bytes (stream " + queue + ")");
                }
                bytes += m.body().length;
                List<byte[]> fields = StreamFields.encode(m);
                if (m.delay().isZero()) {
                    now.add(fields);
                } else {
                    if (delayed == null) {
                        delayed = new LinkedHashMap<>();
                    }
                    List<byte[]> args = delayed.computeIfAbsent(
                            m.group() == null ? Keys.delayed(queue) : Keys.delayed(queue, m.group()), k -> new ArrayList<>());
                    args.add(StreamFields.utf8(Long.toString(Math.max(1, m.delay().toMillis()))));
                    args.add(StreamFields.delayedMember(fields));
                }
            }
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        StreamWriter.Pending pending = new StreamWriter.Pending(now, delayed, messages.size(), bytes);
        writer.submit(pending);
        return pending.future;
    }

    @Override
    public String toString() {
        return "RedisSender[stream=" + queue + "]";
    }
}
