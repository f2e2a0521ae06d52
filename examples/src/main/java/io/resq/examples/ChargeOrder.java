package io.resq.examples;

import io.resq.Handler;
import java.util.Objects;

/**
 * A typed handler: charges an order through a {@link PaymentGateway}. It holds business logic
 * only; retries, redelivery, timeouts and dead letters are the processor's job:
 *
 * <pre>{@code
 * queues.processor("orders", Order.class)
 *       .group("billing")
 *       .abortOn(InvalidOrderException.class)
 *       .handler(new ChargeOrder(gateway))
 *       .start();
 * }</pre>
 *
 * Returning normally acks the message; throwing fails it.
 */
public final class ChargeOrder implements Handler<Order> {

    private final PaymentGateway gateway;

    /** A handler that charges through {@code gateway}. */
    public ChargeOrder(PaymentGateway gateway) {
        this.gateway = Objects.requireNonNull(gateway, "gateway must not be null");
    }

    /** Charges the order; throws {@link InvalidOrderException} for an order without a positive amount. */
    @Override
    public void handle(Order order) throws Exception {
        if (order.amount() == null || order.amount().signum() <= 0) {
            // Trying again cannot fix this order, so it says so with its own exception type.
            throw new InvalidOrderException("order " + order.id() + " has no positive amount");
        }
        gateway.charge(order.customer(), order.amount());
    }
}
