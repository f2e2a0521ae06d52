package io.resq.spi;

import java.util.Map;

/**
 * One message received from a {@link Receiver}. It must be settled exactly once, by
 * {@link #ack()} or {@link #release()}; a delivery that is never settled comes back after the
 * receiver closes (or, for brokers with a visibility timeout, after it expires).
 */
public interface Delivery {

    /** The id the sender gave the message ({@link Outbound#id()}), or the broker's own id for a foreign message. */
    String id();

    /** The ordering key, or {@code null}. */
    String key();

    /** Broker-native headers; never {@code null}. */
    Map<String, String> headers();

    /**
     * The body exactly as sent. The array may be the transport's own buffer, shared by every call:
     * read it, never change it. resq's core only reads it, and copies it before it hands bytes to
     * a handler, so a transport need not copy it per call.
     */
    byte[] body();

    /**
     * Why the transport could not read this message, or {@code null} (the default) when it could.
     * A transport hands out such a delivery, instead of stalling on it, for a message the broker
     * returns damaged (for example a Kafka record whose checksum fails): resq then sends it to the
     * dead-letter queue at once with status 400 and this reason, with whatever {@link #body()} the
     * transport could recover (often none), and acks it.
     */
    default String unreadableReason() {
        return null;
    }

    /** 1 on the first delivery, 2 after one release or lost consumer, and so on. */
    int deliveryCount();

    /**
     * Removes the message from the broker. After its receiver closed the message has already
     * been handed back: an ack then either does nothing or throws {@link IllegalStateException};
     * in both cases the message is delivered again.
     */
    void ack();

    /** Hands the message back to the broker for another delivery, as soon as possible. Not a failure. */
    void release();
}
