package io.resq.spi;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One message handed to a {@link Sender}: bytes plus the little a broker needs to route them.
 *
 * @param id      the message id; transports carry it so that {@link Delivery#id()} returns it
 * @param key     the ordering key, or {@code null} for none
 * @param headers broker-native headers (never {@code null}; may be empty)
 * @param body    the encoded body (never {@code null}; may be empty)
 * @param delay   how long the broker holds the message before delivering it ({@link Duration#ZERO} for none)
 */
public record Outbound(String id, String key, Map<String, String> headers, byte[] body, Duration delay) {

    /** Validates the arguments and copies the headers. */
    public Outbound {
        Objects.requireNonNull(id, "id must not be null");
        Objects.requireNonNull(body, "body must not be null");
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        delay = delay == null ? Duration.ZERO : delay;
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0, was " + delay);
        }
    }

    /** An undelayed message with no key and no headers. */
    public static Outbound of(String id, byte[] body) {
        return new Outbound(id, null, Map.of(), body, Duration.ZERO);
    }

    /** A copy of this message held back by {@code newDelay}. */
    public Outbound withDelay(Duration newDelay) {
        return new Outbound(id, key, headers, body, newDelay);
    }
}
