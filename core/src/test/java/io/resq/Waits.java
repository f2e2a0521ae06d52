package io.resq;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polls a condition for the core tests, which cannot use the testkit's {@code Await} (it depends on core). */
final class Waits {

    private Waits() {
    }

    /** Whether {@code condition} became true within {@code timeout}, checked every 10 ms. */
    static boolean until(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
