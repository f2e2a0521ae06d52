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

    /**
     * Waits up to 20 s for {@code condition}; fails the calling test, saying it waited for
     * {@code what}, when it never held.
     */
    public static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        if (!until(Duration.ofSeconds(20), condition)) {
            throw new AssertionError("timed out after 20 s waiting for: " + what);
        }
    }
}
