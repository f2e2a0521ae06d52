package io.resq.redis;

import io.resq.spi.Delivery;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One stream entry handed to the application. Settling is thread-safe and happens at most once;
 * the receiver does the Redis work.
 */
final class RedisDelivery implements Delivery {

    private final RedisReceiver receiver;
    private final String entryId;
    private final StreamFields.Decoded decoded;
    private final int deliveryCount;
    private final AtomicBoolean settled = new AtomicBoolean();

    RedisDelivery(RedisReceiver receiver, String entryId, StreamFields.Decoded decoded, int deliveryCount) {
        this.receiver = receiver;
        this.entryId = entryId;
        this.decoded = decoded;
        this.deliveryCount = deliveryCount;
    }

    /** The stream entry id ({@code <ms>-<seq>}). */
    String entryId() {
        return entryId;
    }

    @Override
    public String id() {
        return decoded.id();
    }

    @Override
    public String key() {
        return decoded.key();
    }

    @Override
    public Map<String, String> headers() {
        return decoded.headers();
    }

    @Override
    public byte[] body() {
        return decoded.body();
    }

    @Override
    public int deliveryCount() {
        return deliveryCount;
    }

    /**
     * XACK (and XDEL under the delete-on-ack policy), batched with other acks and sent by the
     * transport's background thread within milliseconds; the receiver's close flushes what is
     * queued. If Redis is unreachable the failure is logged and the entry comes back after the
     * visibility timeout (at-least-once).
     */
    @Override
    public void ack() {
        if (settled.compareAndSet(false, true)) {
            receiver.ack(this);
        }
    }

    /** Parks the entry so that the next XAUTOCLAIM of any live consumer of the group takes it. */
    @Override
    public void release() {
        if (settled.compareAndSet(false, true)) {
            receiver.release(this);
        }
    }

    /** True once acked or released (used by close to skip what is settled). */
    boolean isSettled() {
        return settled.get();
    }

    /** Marks the delivery settled without Redis work; false if it already was. */
    boolean markSettled() {
        return settled.compareAndSet(false, true);
    }

    @Override
    public String toString() {
        return "RedisDelivery[id=" + id() + ", entry=" + entryId + ", deliveryCount=" + deliveryCount + "]";
    }
}
