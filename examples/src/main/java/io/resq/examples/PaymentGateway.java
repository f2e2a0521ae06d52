package io.resq.examples;

import java.math.BigDecimal;

/**
 * The outside system the example handler calls. In a real service this is an HTTP client; in the
 * examples and their tests it is a lambda that succeeds, fails or hangs on purpose.
 */
@FunctionalInterface
public interface PaymentGateway {

    /** Charges {@code amount} to {@code customer}; throws when the gateway is down or declines. */
    void charge(String customer, BigDecimal amount) throws Exception;
}
