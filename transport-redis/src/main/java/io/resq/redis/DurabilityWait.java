package io.resq.redis;

import java.time.Duration;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.util.KeyValue;

/**
 * The opt-in wait after each send and copy: {@code WAIT numreplicas timeout}, or
 * {@code WAITAOF numlocal numreplicas timeout} (Redis 7.2+). Both wait for the writes done on
 * their own connection, so the wait is queued on the pipeline that did the writes: a pipeline
 * keeps one connection (per node, on a cluster, where the stream's key routes it). Neither may run
 * inside a Lua script or a MULTI, which is why it is a pipelined command of its own. Immutable.
 */
final class DurabilityWait {

    private final int localFsyncs;
    private final int replicas;
    private final Duration timeout;
    private final boolean aof;

    private DurabilityWait(int localFsyncs, int replicas, Duration timeout, boolean aof) {
        this.localFsyncs = localFsyncs;
        this.replicas = replicas;
        this.timeout = timeout;
        this.aof = aof;
    }

    /** {@code WAIT replicas timeout}. */
    static DurabilityWait replicas(int replicas, Duration timeout) {
        return new DurabilityWait(0, replicas, timeout, false);
    }

    /** {@code WAITAOF localFsyncs replicas timeout}. */
    static DurabilityWait aof(int localFsyncs, int replicas, Duration timeout) {
        return new DurabilityWait(localFsyncs, replicas, timeout, true);
    }

    /** Whether this needs {@code WAITAOF} (Redis 7.2 or later). */
    boolean usesAof() {
        return aof;
    }

    /** Queues the wait behind the writes on {@code pipeline}; {@code key} routes it to the writes' node. */
    Response<?> queue(AbstractPipeline pipeline, byte[] key) {
        return aof ? pipeline.waitAOF(key, localFsyncs, replicas, timeout.toMillis())
                : pipeline.waitReplicas(key, replicas, timeout.toMillis());
    }

    /**
     * Throws if the reply of {@link #queue} counts fewer acknowledgements than asked.
     *
     * @param what what was written, for the message ("3 messages sent to stream orders")
     * @throws RedisDurabilityException naming the endpoint, what was written and what was acknowledged
     */
    void check(Response<?> reply, Endpoint endpoint, String what) {
        Object r = reply.get();
        long gotReplicas;
        long gotLocal = localFsyncs;
        if (r instanceof KeyValue<?, ?> kv) {
            gotLocal = ((Number) kv.getKey()).longValue();
            gotReplicas = ((Number) kv.getValue()).longValue();
        } else {
            gotReplicas = ((Number) r).longValue();
        }
        if (gotReplicas >= replicas && gotLocal >= localFsyncs) {
            return;
        }
        String acknowledged = aof
                ? gotLocal + " of " + localFsyncs + " local and " + gotReplicas + " of " + replicas + " replica AOF fsyncs (WAITAOF)"
                : gotReplicas + " of " + replicas + " replicas (WAIT)";
        throw new RedisDurabilityException("Redis at " + endpoint + ": " + what + ": only " + acknowledged
                + " acknowledged the write within " + timeout.toMillis() + " ms; it is on the primary but may be lost"
                + " if the primary fails");
    }

    @Override
    public String toString() {
        return aof ? "WAITAOF " + localFsyncs + " " + replicas + " " + timeout.toMillis()
                : "WAIT " + replicas + " " + timeout.toMillis();
    }
}
