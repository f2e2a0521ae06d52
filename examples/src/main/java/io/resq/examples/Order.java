package io.resq.examples;

import java.math.BigDecimal;

/**
 * The payload of the examples: an order to charge. A plain record; resq turns it into JSON and
 * back with Jackson, so any class Jackson can read and write works the same way.
 *
 * @param id       the order number
 * @param customer who pays
 * @param amount   how much, in the shop's currency
 */
public record Order(long id, String customer, BigDecimal amount) {
}
