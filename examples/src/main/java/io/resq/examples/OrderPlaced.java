package io.resq.examples;

import java.math.BigDecimal;

/**
 * The event {@link OutboxInboxExample} publishes when an order is stored.
 *
 * @param orderId  the order's number
 * @param customer who pays
 * @param amount   how much
 */
public record OrderPlaced(long orderId, String customer, BigDecimal amount) {
}
