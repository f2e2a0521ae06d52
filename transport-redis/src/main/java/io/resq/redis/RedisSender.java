package io.resq.redis;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XAddParams;

/**
 * Sends to one stream. Undelayed messages go out as one pipelined batch of {@code XADD}s (one
 * round trip per batch); delayed ones go into the queue's sorted set through one atomic script
 * call. The future completes once Redis answered every command, which with
 * {@code appendfsync always} means they are on disk.
 *
 * <p>Thread-safe: the sending thread borrows a pooled connection for the duration of the batch.
 * Sends run on the caller's thread; the returned future is already complete.
 */
final class RedisSender implements Sender {

    private final RedisTransport transport;
    private final String queue;

    RedisSender(RedisTransport transport, String queue) {
        this.transport = transport;
        this.queue = queue;
    }

    @Override
    public CompletableFuture<Void> send(List<Outbound> messages) {
        if (transport.isClosed()) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "Redis transport is closed; cannot send to stream " + queue));
        }
        int limit = transport.maxBodySize();
        List<List<byte[]>> now = new ArrayList<>();
        // Per sorted set: the shared one of delayed sends, or a group's own for its redeliveries.
        Map<String, List<byte[]>> delayedArgs = new LinkedHashMap<>();
        try {
            for (Outbound m : messages) {
                if (m.body().length > limit) {
                    throw new IllegalArgumentException("message " + m.id() + " has a body of " + m.body().length
                            + " bytes, over the Redis transport's limit of " + limit + " bytes (stream " + queue + ")");
                }
                List<byte[]> fields = StreamFields.encode(m);
                if (m.delay().isZero()) {
                    now.add(fields);
                } else {
                    List<byte[]> args = delayedArgs.computeIfAbsent(
                            m.group() == null ? Keys.delayed(queue) : Keys.delayed(queue, m.group()), k -> new ArrayList<>());
                    args.add(StreamFields.utf8(Long.toString(Math.max(1, m.delay().toMillis()))));
                    args.add(StreamFields.delayedMember(fields));
                }
            }
            if (!now.isEmpty()) {
                addToStream(now);
            }
            for (Map.Entry<String, List<byte[]>> set : delayedArgs.entrySet()) {
                Scripts.DELAY.run(transport.client(), List.of(StreamFields.utf8(set.getKey())), set.getValue());
            }
            return CompletableFuture.completedFuture(null);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        } catch (JedisException | IllegalStateException e) {
            return CompletableFuture.failedFuture(transport.failure("sending " + messages.size() + " messages to stream " + queue, e));
        }
    }

    private void addToStream(List<List<byte[]>> entries) {
        byte[] stream = StreamFields.utf8(Keys.stream(queue));
        XAddParams params = XAddParams.xAddParams();
        if (transport.settings().maxLength() > 0) {
            params.maxLen(transport.settings().maxLength()).approximateTrimming();
        }
        if (entries.size() == 1) {
            transport.client().xadd(stream, params, StreamFields.asMap(entries.get(0)));
            return;
        }
        List<Response<byte[]>> replies = new ArrayList<>(entries.size());
        try (AbstractPipeline pipeline = transport.client().pipelined()) {
            for (List<byte[]> fields : entries) {
                replies.add(pipeline.xadd(stream, params, StreamFields.asMap(fields)));
            }
            pipeline.sync();
        }
        for (Response<byte[]> reply : replies) {
            reply.get(); // throws the server's error for a refused entry
        }
    }

    @Override
    public String toString() {
        return "RedisSender[stream=" + queue + "]";
    }
}
