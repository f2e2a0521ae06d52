package io.resq.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling waits for tests on real brokers, where things arrive when they arrive. */
public final class Await {

    private Await() {
    }

    /**
     * Waits until {@code condition} holds or {@code timeout} passes, checking every 20 ms;
     * returns whether it held (assert on the result, with a message saying what was awaited).
     */
    public static boolean until(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
