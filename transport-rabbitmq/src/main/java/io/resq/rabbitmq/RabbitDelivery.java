package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import io.resq.spi.Delivery;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One AMQP delivery. Immutable apart from the settled flag, so it may be settled from any thread;
 * the first {@link #ack()} or {@link #release()} wins, later ones do nothing.
 */
final class RabbitDelivery implements Delivery {

    private final RabbitReceiver receiver;
    /** The channel this arrived on: its tag means something there only. */
    final Channel channel;
    /** The receiver's channel generation when this arrived; a delivery of an earlier one was returned by the broker already. */
    final long generation;
    final long deliveryTag;
    private final String id;
    private final String key;
    private final Map<String, String> headers;
    private final byte[] body;
    private final int deliveryCount;
    private final AtomicBoolean settled = new AtomicBoolean();

    RabbitDelivery(RabbitReceiver receiver, Channel channel, long generation, long deliveryTag, String id, Map<String, String> headers,
            byte[] body, int deliveryCount) {
        this.receiver = receiver;
        this.channel = channel;
        this.generation = generation;
        this.deliveryTag = deliveryTag;
        this.id = id;
        this.key = headers.get(AmqpMapping.KEY);
        this.headers = Map.copyOf(headers);
        this.body = body;
        this.deliveryCount = deliveryCount;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public Map<String, String> headers() {
        return headers;
    }

    @Override
    public byte[] body() {
        return body;
    }

    /** The body without a copy, for the receiver's own use. */
    int size() {
        return body.length;
    }

    @Override
    public int deliveryCount() {
        return deliveryCount;
    }

    @Override
    public void ack() {
        if (settled.compareAndSet(false, true)) {
            receiver.settle(this, true);
        }
    }

    @Override
    public void release() {
        if (settled.compareAndSet(false, true)) {
            receiver.settle(this, false);
        }
    }

    /** Marks this delivery settled without telling the broker (it was returned by a channel close). */
    boolean markSettled() {
        return settled.compareAndSet(false, true);
    }

    @Override
    public String toString() {
        return "RabbitDelivery[id=" + id + ", key=" + key + ", deliveryCount=" + deliveryCount + ", tag=" + deliveryTag + "]";
    }
}
