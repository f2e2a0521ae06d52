package io.resq;

import java.time.Duration;
import java.util.Objects;

/** Argument checks with messages that name the argument. */
final class Args {

    private Args() {
    }

    static String name(String value, String name) {
        Objects.requireNonNull(value, name + " must not be null");
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be blank");
        }
        return value;
    }

    static Duration positive(Duration value, String name) {
        Objects.requireNonNull(value, name + " must not be null");
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be > 0, was " + value);
        }
        return fitsMillis(value, name);
    }

    /**
     * Refuses a duration too long to count in milliseconds (about 292 million years), so it fails
     * here, where it is configured, rather than as an overflow deep inside a timer.
     */
    static Duration fitsMillis(Duration value, String name) {
        Objects.requireNonNull(value, name + " must not be null");
        try {
            value.toMillis();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(name + " must fit in a long of milliseconds (at most "
                    + Duration.ofMillis(Long.MAX_VALUE) + "), was " + value);
        }
        return value;
    }

    static int atLeast(int value, int min, String name) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
        }
        return value;
    }
}
