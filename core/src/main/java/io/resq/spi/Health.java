package io.resq.spi;

import java.util.Objects;

/**
 * Whether a transport can reach its broker.
 *
 * @param status UP or DOWN
 * @param detail a short human-readable explanation (the address and the cause when DOWN); never credentials
 */
public record Health(Status status, String detail) {

    /** UP or DOWN. */
    public enum Status { UP, DOWN }

    /** Validates the arguments. */
    public Health {
        Objects.requireNonNull(status, "status must not be null");
        detail = detail == null ? "" : detail;
    }

    /** An UP health with a detail. */
    public static Health up(String detail) {
        return new Health(Status.UP, detail);
    }

    /** A DOWN health with a detail that says what failed. */
    public static Health down(String detail) {
        return new Health(Status.DOWN, detail);
    }

    /** True when UP. */
    public boolean isUp() {
        return status == Status.UP;
    }
}
