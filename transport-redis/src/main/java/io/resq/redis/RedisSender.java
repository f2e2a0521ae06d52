package io.resq.redis;

import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.XAddParams;

/**
 * Sends to one stream. A batch is one pipelined round trip on one connection: an {@code XADD} per
 * undelayed message, the {@code maxLength} cap script when a cap is set, one script call per
 * delayed set for delayed messages (a shared set for delayed sends, a group's own for its
 * redeliveries), and, when the transport waits for durability, {@code WAIT}/{@code WAITAOF}
 * last, which waits for exactly these writes because they were made on its connection. The
 * future completes once Redis answered every command, which with {@code appendfsync always}
 * means they are on disk.
 *
 * <p>Thread-safe: the sending thread borrows a pooled connection for the duration of the batch.
 * Sends run on the caller's thread; the returned future is already complete.
 */
final class RedisSender implements Sender {

    private final RedisTransport transport;
    private final String queue;
    private final byte[] stream;

    RedisSender(RedisTransport transport, String queue) {
        this.transport = transport;
        this.queue = queue;
        this.stream = StreamFields.utf8(Keys.stream(queue));
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
            write(now, delayedArgs, messages.size());
            return CompletableFuture.completedFuture(null);
        } catch (IllegalArgumentException | RedisDurabilityException e) {
            return CompletableFuture.failedFuture(e);
        } catch (JedisException | IllegalStateException e) {
            return CompletableFuture.failedFuture(transport.failure("sending " + messages.size() + " messages to stream " + queue, e));
        }
    }

    /** One script call of a batch, kept so that one the server did not know can run again. */
    private record ScriptCall(Script script, List<byte[]> keys, List<byte[]> args, boolean cap) {
    }

    private void write(List<List<byte[]>> now, Map<String, List<byte[]>> delayedArgs, int count) {
        Settings settings = transport.settings();
        DurabilityWait durability = settings.durability();
        List<ScriptCall> scripts = new ArrayList<>();
        if (!now.isEmpty() && settings.maxLength() > 0) {
            scripts.add(new ScriptCall(Scripts.CAP, List.of(stream, StreamFields.utf8(Keys.trimmedUnread(queue))),
                    RedisTransport.capArgs(settings.maxLength()), true));
        }
        delayedArgs.forEach((set, args) -> scripts.add(new ScriptCall(Scripts.DELAY, List.of(StreamFields.utf8(set)), args, false)));
        if (now.size() == 1 && scripts.isEmpty() && durability == null) {
            transport.client().xadd(stream, XAddParams.xAddParams(), StreamFields.asMap(now.get(0)));
            return;
        }
        List<ScriptCall> unknown = pipeline(now, scripts, durability, false, count);
        if (!unknown.isEmpty()) {
            // The server forgot the scripts (restart, SCRIPT FLUSH): those calls did not run; run them with their source.
            pipeline(List.of(), unknown, durability, true, count);
        }
    }

    /** Runs one pipelined batch; returns the script calls the server did not know (they did nothing). */
    private List<ScriptCall> pipeline(List<List<byte[]>> entries, List<ScriptCall> scripts, DurabilityWait durability,
                                      boolean withSource, int count) {
        List<Response<byte[]>> added = new ArrayList<>(entries.size());
        List<Response<Object>> ran = new ArrayList<>(scripts.size());
        Response<?> waited = null;
        try (AbstractPipeline pipeline = transport.client().pipelined()) {
            for (List<byte[]> fields : entries) {
                added.add(pipeline.xadd(stream, XAddParams.xAddParams(), StreamFields.asMap(fields)));
            }
            for (ScriptCall call : scripts) {
                ran.add(call.script().queue(pipeline, call.keys(), call.args(), withSource));
            }
            if (durability != null) {
                waited = durability.queue(pipeline, stream);
            }
            pipeline.sync();
        }
        for (Response<byte[]> reply : added) {
            reply.get(); // throws the server's error for a refused entry
        }
        List<ScriptCall> unknown = new ArrayList<>();
        for (int i = 0; i < scripts.size(); i++) {
            try {
                Object reply = ran.get(i).get();
                if (scripts.get(i).cap()) {
                    transport.trimReport().record(queue, reply);
                }
            } catch (JedisDataException e) {
                if (withSource || !Script.isNoScript(e)) {
                    throw e;
                }
                unknown.add(scripts.get(i));
            }
        }
        if (waited != null && unknown.isEmpty()) {
            durability.check(waited, transport.endpoint(), count + " messages sent to stream " + queue);
        }
        return unknown;
    }

    @Override
    public String toString() {
        return "RedisSender[stream=" + queue + "]";
    }
}
