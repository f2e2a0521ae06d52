package io.resq.kafka;

import io.resq.spi.Delivery;
import java.util.Map;

/**
 * One hand-out of a held record. A record released and handed out again gets a new
 * {@code KafkaDelivery} with the next delivery count; settling an old one is a no-op.
 */
final class KafkaDelivery implements Delivery {

    private final DeliveryBook book;
    private final HeldRecord held;
    private final int deliveryCount;

    KafkaDelivery(DeliveryBook book, HeldRecord held, int deliveryCount) {
        this.book = book;
        this.held = held;
        this.deliveryCount = deliveryCount;
    }

    HeldRecord held() {
        return held;
    }

    @Override
    public String id() {
        return held.id();
    }

    @Override
    public String key() {
        return held.key();
    }

    @Override
    public Map<String, String> headers() {
        return held.headers();
    }

    @Override
    public byte[] body() {
        return held.body();
    }

    @Override
    public String unreadableReason() {
        return held.unreadable();
    }

    @Override
    public int deliveryCount() {
        return deliveryCount;
    }

    @Override
    public void ack() {
        book.settle(this, true);
    }

    @Override
    public void release() {
        book.settle(this, false);
    }

    @Override
    public String toString() {
        return "KafkaDelivery[id=" + id() + ", " + held.where() + ", deliveryCount=" + deliveryCount + "]";
    }
}
