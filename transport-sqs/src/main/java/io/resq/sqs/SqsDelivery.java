package io.resq.sqs;

import io.resq.spi.Delivery;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One received SQS message. Settled once: the first of {@link #ack()}, {@link #release()} or the
 * receiver's close wins, later calls do nothing. {@link #visibleUntilNanos} and
 * {@link #extensionRefused} are written by the receiving thread and the heartbeat thread, hence
 * volatile.
 */
final class SqsDelivery implements Delivery {

    private final SqsReceiver receiver;
    private final String id;
    private final String key;
    private final Map<String, String> headers;
    private final byte[] body;
    private final int deliveryCount;
    private final String receiptHandle;
    private final AtomicBoolean settled = new AtomicBoolean();
    volatile long visibleUntilNanos;
    /** SQS refused to extend this delivery's visibility: the heartbeat stops asking. Written by the heartbeat thread. */
    volatile boolean extensionRefused;

    SqsDelivery(SqsReceiver receiver, String id, String key, Map<String, String> headers, byte[] body, int deliveryCount,
                String receiptHandle, long visibleUntilNanos) {
        this.receiver = receiver;
        this.id = id;
        this.key = key;
        this.headers = Map.copyOf(headers);
        this.body = body;
        this.deliveryCount = deliveryCount;
        this.receiptHandle = receiptHandle;
        this.visibleUntilNanos = visibleUntilNanos;
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

    @Override
    public int deliveryCount() {
        return deliveryCount;
    }

    /** Deletes the message; the delete is batched with others and sent within milliseconds. */
    @Override
    public void ack() {
        if (settle()) {
            receiver.deleteLater(this);
        }
    }

    /** Makes the message visible again at once ({@code ChangeMessageVisibility} to 0). */
    @Override
    public void release() {
        if (settle()) {
            receiver.makeVisible(this);
        }
    }

    /** Marks this delivery settled and forgets it in the receiver; false if it already was. */
    boolean settle() {
        if (!settled.compareAndSet(false, true)) {
            return false;
        }
        receiver.forget(this);
        return true;
    }

    boolean isSettled() {
        return settled.get();
    }

    String receiptHandle() {
        return receiptHandle;
    }

    @Override
    public String toString() {
        return "SqsDelivery[id=" + id + ", key=" + key + ", deliveryCount=" + deliveryCount + "]";
    }
}
