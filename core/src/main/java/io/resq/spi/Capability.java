package io.resq.spi;

/**
 * Optional abilities a {@link Transport} declares in {@link Transport#capabilities()}.
 *
 * <p>The core and the {@code TransportContract} read these flags: a test that depends on a
 * capability asserts the documented behaviour with the flag and the documented fallback without it.
 */
public enum Capability {
    /** {@link Outbound#delay()} is honoured by the broker: the message is not delivered before it is due. */
    DELAYED_DELIVERY,
    /**
     * Messages with the same {@link Outbound#key()} are delivered in send order, and a key's next
     * message is not handed to any receiver of the group while an earlier one is unacknowledged.
     */
    ORDERED_BY_KEY,
    /** Receivers with different {@link ReceiverOptions#group()} each get every message. */
    CONSUMER_GROUPS,
    /** {@link Delivery#deliveryCount()} counts deliveries as the broker saw them (survives a consumer restart). */
    DELIVERY_COUNT,
    /** {@link Receiver#pause()} stops the broker from delivering to this receiver. */
    PAUSE
}
