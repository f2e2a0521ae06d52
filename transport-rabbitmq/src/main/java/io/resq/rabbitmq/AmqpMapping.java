package io.resq.rabbitmq;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.LongString;
import io.resq.spi.Outbound;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Maps resq's transport fields onto AMQP 0-9-1 properties and headers, and back.
 *
 * <p>On the way out: the id becomes {@code message-id}, the dispatch date (raw mode header
 * {@code resq-dispatch-date}) becomes {@code timestamp}, the category ({@code resq-category})
 * becomes {@code type}, the key travels as header {@code resq-key}, every resq header as a header,
 * and the message is persistent. On the way in the same properties fill what a foreign producer
 * left out, so a message from an existing AMQP producer reads as a raw resq message.
 */
final class AmqpMapping {

    /** Header that carries {@link Outbound#key()}; the same name core's raw mode uses for the key. */
    static final String KEY = "resq-key";
    static final String CATEGORY = "resq-category";
    static final String DISPATCH_DATE = "resq-dispatch-date";
    /** Quorum queues count returned deliveries in this header (from RabbitMQ 4.3 on: failed ones only). */
    static final String DELIVERY_COUNT = "x-delivery-count";
    /** RabbitMQ 4.3+ quorum queues count every earlier delivery here, returned for whatever reason. */
    static final String ACQUIRED_COUNT = "x-acquired-count";

    private static final int PERSISTENT = 2;

    private AmqpMapping() {
    }

    static AMQP.BasicProperties properties(Outbound m) {
        Map<String, Object> headers = new HashMap<>(m.headers());
        if (m.key() != null) {
            headers.put(KEY, m.key());
        }
        AMQP.BasicProperties.Builder b = new AMQP.BasicProperties.Builder()
                .messageId(m.id())
                .deliveryMode(PERSISTENT)
                .headers(headers);
        String category = m.headers().get(CATEGORY);
        if (category != null) {
            b.type(category);
        }
        Instant dispatched = parse(m.headers().get(DISPATCH_DATE));
        b.timestamp(Date.from(dispatched == null ? Instant.now() : dispatched));
        return b.build();
    }

    /** The delivery's id: the message-id property, or a stable id derived from the message for a foreign message without one. */
    static String id(String queue, AMQP.BasicProperties props, byte[] body) {
        if (props.getMessageId() != null && !props.getMessageId().isEmpty()) {
            return props.getMessageId();
        }
        // No id from the producer: derive one from what is fixed across redeliveries, so that
        // consumers can still deduplicate on it.
        String fixed = queue + '|' + props.getTimestamp() + '|' + props.getCorrelationId() + '|' + props.getAppId();
        byte[] head = fixed.getBytes(StandardCharsets.UTF_8);
        ByteBuffer all = ByteBuffer.allocate(head.length + body.length).put(head).put(body);
        return "amqp-" + UUID.nameUUIDFromBytes(all.array());
    }

    /**
     * The headers as strings. The broker's own bookkeeping ({@code x-death} and the
     * {@code x-first-death-*}, {@code x-last-death-*} and delivery-count headers it adds when it
     * dead-letters or returns a message) is left out, so it never travels into a copy; so are other
     * non-scalar AMQP values. {@code type} and {@code timestamp} fill {@code resq-category} and
     * {@code resq-dispatch-date} when the producer did not set them.
     */
    static Map<String, String> headers(AMQP.BasicProperties props) {
        Map<String, String> out = new HashMap<>();
        Map<String, Object> raw = props.getHeaders();
        if (raw != null) {
            raw.forEach((k, v) -> {
                String s = brokersOwn(k) ? null : scalar(v);
                if (s != null) {
                    out.put(k, s);
                }
            });
        }
        if (props.getType() != null) {
            out.putIfAbsent(CATEGORY, props.getType());
        }
        if (props.getTimestamp() != null) {
            out.putIfAbsent(DISPATCH_DATE, props.getTimestamp().toInstant().toString());
        }
        return out;
    }

    /**
     * 1 on the first delivery. Quorum queues say how many earlier deliveries there were: from
     * RabbitMQ 4.3 on in {@code x-acquired-count} (every return), before in {@code x-delivery-count}
     * (which 4.3 narrowed to failed deliveries, and which a release does not raise); the larger
     * wins. Classic queues only flag a redelivery, which then counts as 2.
     */
    static int deliveryCount(AMQP.BasicProperties props, Envelope envelope) {
        Map<String, Object> raw = props.getHeaders();
        long earlier = -1;
        if (raw != null) {
            for (String header : new String[] {ACQUIRED_COUNT, DELIVERY_COUNT}) {
                if (raw.get(header) instanceof Number n) {
                    earlier = Math.max(earlier, n.longValue());
                }
            }
        }
        if (earlier >= 0) {
            return (int) Math.min(Integer.MAX_VALUE - 1L, earlier) + 1;
        }
        return envelope.isRedeliver() ? 2 : 1;
    }

    /** Headers RabbitMQ sets itself when it dead-letters, expires or returns a message. */
    private static boolean brokersOwn(String name) {
        return name.equals("x-death") || name.startsWith("x-first-death-") || name.startsWith("x-last-death-")
                || name.equals(DELIVERY_COUNT) || name.equals(ACQUIRED_COUNT);
    }

    private static String scalar(Object v) {
        if (v instanceof LongString || v instanceof String || v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        if (v instanceof Date d) {
            return d.toInstant().toString();
        }
        return null;
    }

    private static Instant parse(String iso) {
        if (iso == null) {
            return null;
        }
        try {
            return Instant.parse(iso);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
