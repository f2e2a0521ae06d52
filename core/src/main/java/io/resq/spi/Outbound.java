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
 * @param group   the only consumer group that may receive this message, or {@code null} for every
 *                group. resq sets it on redelivery copies: a copy written because one group's
 *                handler failed belongs to that group. A transport with
 *                {@link Capability#CONSUMER_GROUPS} never hands it to another group; other
 *                transports have no groups and ignore it.
 */
public record Outbound(String id, String key, Map<String, String> headers, byte[] body, Duration delay, String group) {

    /** A message for every group. */
    public Outbound(String id, String key, Map<String, String> headers, byte[] body, Duration delay) {
        this(id, key, headers, body, delay, null);
    }

    /** Validates the arguments and copies the headers. */
    public Outbound {
        Objects.requireNonNull(id, "id must not be null");
        Objects.requireNonNull(body, "body must not be null");
        headers = headers == null ? Map.of() : Map.copyOf(headers);
        delay = delay == null ? Duration.ZERO : delay;
        if (delay.isNegative()) {
            throw new IllegalArgumentException("delay must be >= 0, was " + delay);
        }
        if (group != null && group.isBlank()) {
            throw new IllegalArgumentException("group must not be blank; use null for every group");
        }
    }

    /** An undelayed message with no key and no headers. */
    public static Outbound of(String id, byte[] body) {
        return new Outbound(id, null, Map.of(), body, Duration.ZERO);
    }

    /** A copy of this message held back by {@code newDelay}. */
    public Outbound withDelay(Duration newDelay) {
        return new Outbound(id, key, headers, body, newDelay, group);
    }

    /** A copy of this message for {@code newGroup} only ({@code null}: every group). */
    public Outbound withGroup(String newGroup) {
        return new Outbound(id, key, headers, body, delay, newGroup);
    }

    /** A copy of this message with one more header. */
    public Outbound withHeader(String name, String value) {
        Map<String, String> more = new java.util.HashMap<>(headers);
        more.put(name, value);
        return new Outbound(id, key, more, body, delay, group);
    }
}
