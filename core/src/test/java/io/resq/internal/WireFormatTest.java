package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.EnvelopeMode;
import io.resq.Failure;
import io.resq.Msg;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pins the envelope's wire format with a file written by hand in the documented format. */
class WireFormatTest {

    /** The payload of the golden file. */
    public record Order(int orderId, String customer, double amount, List<String> lines) {
    }

    private final ObjectMapper mapper = Json.defaultMapper();
    private final MsgCodec<Order> codec = new MsgCodec<>(mapper, Order.class, EnvelopeMode.ENVELOPE, 1 << 20);

    private byte[] golden() throws IOException {
        try (InputStream in = getClass().getResourceAsStream("/golden/envelope.json")) {
            return in.readAllBytes();
        }
    }

    @Test
    void handWrittenEnvelopeDecodes() throws IOException {
        Msg<Order> m = codec.decode("orders", "broker-id", null, Map.of(), golden());

        assertThat(m.id()).isEqualTo("01JD8Z6Q7B3Y2K5W9X4V1N0M8R");
        assertThat(m.queue()).isEqualTo("orders");
        assertThat(m.category()).isEqualTo("OrderPlaced");
        assertThat(m.key()).isEqualTo("customer-7");
        assertThat(m.dispatchedAt()).isEqualTo(Instant.parse("2026-11-23T10:15:30.123Z"));
        assertThat(m.attributes()).containsExactly(Map.entry("trace", "4bf92f3577b34da6"));
        assertThat(m.payload()).isEqualTo(new Order(42, "customer-7", 19.99, List.of("book", "pen")));
        assertThat(m.errors()).containsExactly(
                new Failure(500, "java.lang.IllegalStateException", "db down",
                        "java.lang.IllegalStateException: db down\n\tat Billing.charge(Billing.java:10)\n", Instant.parse("2026-11-23T10:15:31Z")),
                new Failure(504, "java.util.concurrent.TimeoutException", null, "", Instant.parse("2026-11-23T10:15:40.5Z")));
        assertThat(m.attempt()).as("without the attempt header: one more than the failures").isEqualTo(3);
    }

    @Test
    void encodingWritesExactlyTheDocumentedFields() throws IOException {
        Msg<Order> decoded = codec.decode("orders", "broker-id", null, Map.of(), golden());

        byte[] body = codec.encode(decoded, Duration.ZERO).body();
        JsonNode written = mapper.readTree(body);
        JsonNode expected = mapper.readTree(golden());

        assertThat(fieldNames(written)).containsExactly("id", "queue", "category", "key", "dispatch_date", "attributes", "payload", "error");
        assertThat(fieldNames(written.get("error").get(0))).containsExactly("status_code", "type", "message", "stack_trace", "date");
        assertThat(written.get("payload").isObject()).as("payload is embedded JSON, not a string").isTrue();
        // Same content; dates may be written in a different but equal ISO-8601 form (".5Z" vs ".500Z").
        assertThat(written.get("payload")).isEqualTo(expected.get("payload"));
        assertThat(written.get("attributes")).isEqualTo(expected.get("attributes"));
        assertThat(written.get("dispatch_date").asText()).isEqualTo("2026-11-23T10:15:30.123Z");
        assertThat(codec.decode("orders", "x", null, Map.of(), body).errors()).isEqualTo(decoded.errors());
    }

    @Test
    void absentFieldsAreWrittenAsNull() throws IOException {
        Msg<String> m = Msg.of("hello");
        byte[] body = new MsgCodec<>(mapper, String.class, EnvelopeMode.ENVELOPE, 1024).encode(m, Duration.ZERO).body();
        JsonNode n = mapper.readTree(body);

        assertThat(n.get("category").isNull()).isTrue();
        assertThat(n.get("key").isNull()).isTrue();
        assertThat(n.get("payload").asText()).isEqualTo("hello");
        assertThat(n.get("error").isArray()).isTrue();
        assertThat(n.get("error")).isEmpty();
    }

    @Test
    void bytePayloadsAreBase64() throws IOException {
        MsgCodec<byte[]> bytes = new MsgCodec<>(mapper, byte[].class, EnvelopeMode.ENVELOPE, 1024);
        byte[] body = bytes.encode(Msg.of(new byte[] {1, 2, 3, (byte) 0xff}), Duration.ZERO).body();

        assertThat(mapper.readTree(body).get("payload").asText()).isEqualTo("AQID/w==");
        assertThat(bytes.decode("q", "id", null, Map.of(), body).payload()).containsExactly(1, 2, 3, (byte) 0xff);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        Iterator<String> it = node.fieldNames();
        it.forEachRemaining(names::add);
        return names;
    }
}
