package io.resq.memory;

import io.resq.spi.Delivery;
import java.util.Map;

/** A delivery of the in-memory transport; settling is thread-safe and happens once. */
final class MemoryDelivery implements Delivery {

    private final MemoryQueue queue;
    private final MemoryQueue.Stored stored;
    private final int deliveryCount;

    MemoryDelivery(MemoryQueue queue, MemoryQueue.Stored stored) {
        this.queue = queue;
        this.stored = stored;
        this.deliveryCount = stored.deliveries;
    }

    @Override
    public String id() {
        return stored.message.id();
    }

    @Override
    public String key() {
        return stored.message.key();
    }

    @Override
    public Map<String, String> headers() {
        return stored.message.headers();
    }

    @Override
    public byte[] body() {
        return stored.message.body();
    }

    @Override
    public int deliveryCount() {
        return deliveryCount;
    }

    @Override
    public void ack() {
        queue.settle(stored, true);
    }

    @Override
    public void release() {
        queue.settle(stored, false);
    }

    @Override
    public String toString() {
        return "MemoryDelivery[id=" + id() + ", key=" + key() + ", deliveryCount=" + deliveryCount + "]";
    }
}
