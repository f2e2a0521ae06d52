package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.EnvelopeMode;
import io.resq.Failure;
import io.resq.Msg;
import io.resq.spi.Outbound;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MsgCodecTest {

    /** A payload type. */
    public record Order(int orderId) {
    }

    private final MsgCodec<Order> envelope = new MsgCodec<>(Json.defaultMapper(), Order.class, EnvelopeMode.ENVELOPE, 1024);
    private final MsgCodec<Order> raw = new MsgCodec<>(Json.defaultMapper(), Order.class, EnvelopeMode.RAW, 1024);

    @Test
    void rawModeCarriesMetadataInHeaders() {
        Msg<Order> m = Msg.builder(new Order(7)).id("id-7").key("k").category("OrderPlaced").attribute("trace", "t1")
                .errors(List.of(new Failure(500, "X", "boom", "", Instant.parse("2026-01-01T00:00:00Z")))).attempt(2).build();

        Outbound out = raw.encode(m, Duration.ofSeconds(3));

        assertThat(new String(out.body(), StandardCharsets.UTF_8)).isEqualTo("{\"orderId\":7}");
        assertThat(out.delay()).isEqualTo(Duration.ofSeconds(3));
        assertThat(out.headers()).containsEntry(Headers.ID, "id-7").containsEntry(Headers.CATEGORY, "OrderPlaced")
                .containsEntry(Headers.KEY, "k").containsEntry(Headers.ATTEMPT, "2").containsEntry("resq-attr-trace", "t1")
                .containsEntry(Headers.FORMAT, "raw").containsKey(Headers.ERRORS);
        Msg<Order> back = raw.decode("orders", "broker-id", null, out.headers(), out.body());
        assertThat(back.id()).isEqualTo("id-7");
        assertThat(back.key()).isEqualTo("k");
        assertThat(back.category()).isEqualTo("OrderPlaced");
        assertThat(back.attributes()).containsEntry("trace", "t1");
        assertThat(back.errors()).isEqualTo(m.errors());
        assertThat(back.attempt()).isEqualTo(2);
        assertThat(back.payload()).isEqualTo(new Order(7));
    }

    @Test
    void foreignRawMessageIsAFirstDeliveryWithTheBrokersId() {
        Msg<Order> m = raw.decode("orders", "broker-42", "key-from-broker", Map.of("content-type", "application/json"),
                "{\"orderId\":1,\"extra\":true}".getBytes(StandardCharsets.UTF_8));

        assertThat(m.id()).isEqualTo("broker-42");
        assertThat(m.key()).isEqualTo("key-from-broker");
        assertThat(m.attempt()).isEqualTo(1);
        assertThat(m.errors()).isEmpty();
        assertThat(m.payload()).isEqualTo(new Order(1));
    }

    @Test
    void envelopeModeRejectsAForeignBodyWith400() {
        assertThatThrownBy(() -> envelope.decode("orders", "x", null, Map.of(), "{\"orderId\":1}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(DecodeException.class)
                .hasMessageContaining("payload")
                .satisfies(e -> assertThat(((DecodeException) e).statusCode()).isEqualTo(400));
        assertThatThrownBy(() -> envelope.decode("orders", "x", null, Map.of(), new byte[] {(byte) 0xff, 0}))
                .isInstanceOf(DecodeException.class).hasMessageContaining("not a JSON envelope");
    }

    @Test
    void wrongPayloadTypeIs400() {
        byte[] body = "{\"id\":\"1\",\"payload\":{\"orderId\":\"not a number\"}}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> envelope.decode("orders", "x", null, Map.of(), body))
                .isInstanceOf(DecodeException.class).hasMessageContaining(Order.class.getName());
    }

    @Test
    void anEnvelopeWithABlankAttributeNameIs400() {
        byte[] body = "{\"id\":\"1\",\"attributes\":{\" \":\"x\"},\"payload\":{\"orderId\":1}}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> envelope.decode("orders", "x", null, Map.of(), body))
                .isInstanceOf(DecodeException.class)
                .satisfies(e -> assertThat(((DecodeException) e).statusCode()).isEqualTo(400));
    }

    @Test
    void oversizedBodyIsRefusedBeforeDecoding() {
        assertThatThrownBy(() -> envelope.decode("orders", "x", null, Map.of(), new byte[2048]))
                .isInstanceOf(DecodeException.class).hasMessageContaining("2048 bytes").hasMessageContaining("1024");
    }

    @Test
    void formatHeaderWinsOverTheCodecsMode() {
        Outbound rawCopy = MsgCodec.rawCopy("id-1", null, "{\"orderId\":3}".getBytes(StandardCharsets.UTF_8),
                List.of(new Failure(400, "X", "bad", "", Instant.now())), Instant.now(), Map.of());

        Msg<Order> m = envelope.decode("orders_deadletter", "other", null, rawCopy.headers(), rawCopy.body());

        assertThat(m.payload()).isEqualTo(new Order(3));
        assertThat(m.id()).isEqualTo("id-1");
        assertThat(m.errors()).extracting(Failure::statusCode).containsExactly(400);
    }

    @Test
    void defaultTypingIsNeverOn() {
        // A body cannot choose its class: a polymorphic type hint is just an unknown field.
        byte[] body = "{\"payload\":{\"@class\":\"java.lang.ProcessBuilder\",\"orderId\":5}}".getBytes(StandardCharsets.UTF_8);
        assertThat(envelope.decode("q", "x", null, Map.of(), body).payload()).isEqualTo(new Order(5));
    }

    /** A payload with exact decimals. */
    public record Price(java.math.BigDecimal amount) {
    }

    @Test
    void decimalsKeepTheirPrecisionInTheEnvelope() {
        MsgCodec<Price> prices = new MsgCodec<>(Json.defaultMapper(), Price.class, EnvelopeMode.ENVELOPE, 4096);
        for (String value : List.of("30.00", "12345678901234567.89", "0.1")) {
            Outbound out = prices.encode(Msg.of(new Price(new java.math.BigDecimal(value))), Duration.ZERO);

            assertThat(new String(out.body(), StandardCharsets.UTF_8)).contains("\"payload\":{\"amount\":" + value + "}");
            assertThat(prices.decode("q", "x", null, out.headers(), out.body()).payload().amount()).isEqualByComparingTo(value)
                    .hasToString(value);
        }
    }

    @Test
    void envelopeFieldsMayComeInAnyOrderAndUnknownOnesAreIgnored() {
        byte[] body = ("{\"extra\":{\"nested\":[1,2]},\"payload\":{\"orderId\":9},\"key\":\"k\",\"id\":\"i-9\","
                + "\"error\":[],\"attributes\":{\"n\":1}}").getBytes(StandardCharsets.UTF_8);
        Msg<Order> m = envelope.decode("orders", "x", null, Map.of(), body);

        assertThat(m.id()).isEqualTo("i-9");
        assertThat(m.key()).isEqualTo("k");
        assertThat(m.payload()).isEqualTo(new Order(9));
        assertThat(m.attributes()).containsEntry("n", "1");
    }
}
