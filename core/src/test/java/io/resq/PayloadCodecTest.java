package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.resq.internal.Json;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import io.resq.spi.PayloadCodec;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A payload codec of the application's own, in place of Jackson. */
@Timeout(30)
class PayloadCodecTest {

    /**
     * A codec for a format that is not JSON: a {@code String} payload is its UTF-8 bytes behind a
     * two-byte mark, which {@link #decode} insists on, so a payload that did not go through this
     * codec cannot pass for one that did.
     */
    static final class MarkedUtf8Codec implements PayloadCodec {
        static final byte[] MARK = {(byte) 0xC0, (byte) 0xDE};

        @Override
        public byte[] encode(Object payload, Type type) {
            byte[] text = ((String) payload).getBytes(UTF_8);
            byte[] out = new byte[MARK.length + text.length];
            System.arraycopy(MARK, 0, out, 0, MARK.length);
            System.arraycopy(text, 0, out, MARK.length, text.length);
            return out;
        }

        @Override
        public Object decode(byte[] data, Type type) {
            if (type != String.class) {
                throw new IllegalArgumentException("reads String payloads only, not " + type.getTypeName());
            }
            if (data.length < 2 || data[0] != MARK[0] || data[1] != MARK[1]) {
                throw new IllegalArgumentException("no 0xC0DE mark");
            }
            return new String(data, MARK.length, data.length - MARK.length, UTF_8);
        }

        @Override
        public boolean isJson() {
            return false;
        }
    }

    private static final String TEXT = "grüße ✓";
    private static final byte[] ENCODED = new MarkedUtf8Codec().encode(TEXT, String.class);

    private InMemoryTransport transport = InMemoryTransport.create();
    private Queues queues = Queues.builder(transport).payloadCodec(new MarkedUtf8Codec()).build();

    @AfterEach
    void close() {
        queues.close();
    }

    /** Replaces the queues with ones over a fresh transport, built by {@code builder}. */
    private void use(Function<InMemoryTransport, Queues.Builder> builder) {
        queues.close();
        transport = InMemoryTransport.create();
        queues = builder.apply(transport).build();
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    private JsonNode envelopeOnTheWire(String queue) throws Exception {
        List<byte[]> bodies = transport.bodies(queue);
        assertThat(bodies).hasSize(1);
        return Json.defaultMapper().readTree(bodies.get(0));
    }

    @Test
    void anEnvelopeCarriesTheCodecsBytesAsBase64AndAProcessorReadsThemBack() throws Exception {
        List<String> handled = new CopyOnWriteArrayList<>();
        queues.enqueue("notes", String.class).send(Msg.builder(TEXT).key("k").build());

        JsonNode envelope = envelopeOnTheWire("notes");
        assertThat(envelope.get("payload").isTextual()).isTrue();
        assertThat(Base64.getDecoder().decode(envelope.get("payload").asText())).isEqualTo(ENCODED);
        assertThat(envelope.get("key").asText()).isEqualTo("k");

        queues.processor("notes", String.class).handler(handled::add).start();
        waitFor("handled", () -> handled.size() == 1);
        assertThat(handled).containsExactly(TEXT);
    }

    @Test
    void aDequeueReadsWhatTheCodecWrote() throws Exception {
        try (Dequeue<String> in = queues.dequeue("notes", String.class)) {
            Msg<String> sent = queues.enqueue("notes", String.class).send(TEXT);
            Msg<String> got = in.messages().poll(5, TimeUnit.SECONDS);
            assertThat(got).isNotNull();
            assertThat(got.id()).isEqualTo(sent.id());
            assertThat(got.payload()).isEqualTo(TEXT);
            in.ack(got);
        }
        waitFor("acked", () -> transport.bodies("notes").isEmpty());
    }

    @Test
    void aDeadLetterWithItsHistoryStillDecodesWithTheCodec() throws Exception {
        queues.processor("notes", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(s -> {
                    throw new IllegalStateException("printer jammed");
                }).start();
        Msg<String> sent = queues.enqueue("notes", String.class).send(Msg.builder(TEXT).attribute("trace", "t1").build());

        waitFor("dead-lettered", () -> transport.bodies("notes_deadletter").size() == 1);
        // The in-memory transport reads with the codec of the Queues built over it.
        List<Msg<String>> dead = transport.messages("notes_deadletter", String.class);
        assertThat(dead).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo(sent.id());
            assertThat(m.payload()).isEqualTo(TEXT);
            assertThat(m.attributes()).containsEntry("trace", "t1");
            assertThat(m.errors()).extracting(Failure::message).containsExactly("printer jammed", "printer jammed");
        });
        // The copies carried the codec's bytes unchanged.
        assertThat(Base64.getDecoder().decode(envelopeOnTheWire("notes_deadletter").get("payload").asText())).isEqualTo(ENCODED);
    }

    @Test
    void aReaderWithTheDefaultCodecSeesTheCodecsBytesAsAByteArray() throws Exception {
        queues.enqueue("notes", String.class).send(TEXT);

        transport.payloadCodec(PayloadCodec.jackson(Json.defaultMapper()));
        List<Msg<byte[]>> seen = transport.messages("notes", byte[].class);
        assertThat(seen).singleElement().satisfies(m -> assertThat(m.payload()).isEqualTo(ENCODED));
    }

    @Test
    void inRawModeTheBodyIsTheCodecsBytes() throws Exception {
        use(t -> Queues.builder(t).envelopeMode(EnvelopeMode.RAW).payloadCodec(new MarkedUtf8Codec()));
        List<String> handled = new CopyOnWriteArrayList<>();
        queues.enqueue("notes", String.class).send(TEXT);
        assertThat(transport.bodies("notes")).singleElement().isEqualTo(ENCODED);

        queues.processor("notes", String.class).handler(handled::add).start();
        waitFor("handled", () -> handled.size() == 1);
        assertThat(handled).containsExactly(TEXT);
    }

    @Test
    void aBodyTheCodecRefusesIsDeadLetteredAsTheEnvelopeWithA400NamingTheCodecsReason() throws Exception {
        queues.processor("notes", String.class).handler(s -> { }).start();
        // Base64 of "plain", without the codec's mark.
        byte[] body = "{\"id\":\"m1\",\"payload\":\"cGxhaW4=\"}".getBytes(UTF_8);
        transport.sender("notes").send(new Outbound("m1", null, Map.of(), body, Duration.ZERO)).get(5, TimeUnit.SECONDS);

        waitFor("dead-lettered", () -> transport.bodies("notes_deadletter").size() == 1);
        JsonNode dead = envelopeOnTheWire("notes_deadletter");
        assertThat(dead.get("payload").asText()).as("the payload as it arrived").isEqualTo("cGxhaW4=");
        assertThat(dead.get("error")).singleElement().satisfies(e -> {
            assertThat(e.get("status_code").asInt()).isEqualTo(400);
            assertThat(e.get("message").asText()).isEqualTo("payload is not a java.lang.String: java.lang.IllegalArgumentException: no 0xC0DE mark");
        });
    }

    @Test
    void aPayloadThatIsNotABase64StringIsA400() throws Exception {
        queues.processor("notes", String.class).handler(s -> { }).start();
        byte[] body = "{\"id\":\"m1\",\"payload\":{\"text\":\"x\"}}".getBytes(UTF_8);
        transport.sender("notes").send(new Outbound("m1", null, Map.of(), body, Duration.ZERO)).get(5, TimeUnit.SECONDS);

        waitFor("dead-lettered", () -> transport.bodies("notes_deadletter").size() == 1);
        assertThat(envelopeOnTheWire("notes_deadletter").get("error").get(0).get("message").asText())
                .startsWith("payload is not a java.lang.String: payload is not a base64 string");
    }

    @Test
    void aCodecThatDecodesToTheWrongTypeIsCaughtBeforeTheHandler() throws Exception {
        PayloadCodec wrong = new PayloadCodec() {
            @Override
            public byte[] encode(Object payload, Type type) {
                return new byte[] {1};
            }

            @Override
            public Object decode(byte[] data, Type type) {
                return 42;
            }

            @Override
            public boolean isJson() {
                return false;
            }
        };
        use(t -> Queues.builder(t).payloadCodec(wrong));
        List<String> handled = new CopyOnWriteArrayList<>();
        queues.processor("notes", String.class).handler(handled::add).start();
        queues.enqueue("notes", String.class).send("x");

        waitFor("dead-lettered", () -> transport.bodies("notes_deadletter").size() == 1);
        assertThat(handled).isEmpty();
        assertThat(envelopeOnTheWire("notes_deadletter").get("error").get(0).get("message").asText())
                .endsWith("decoded it to a java.lang.Integer");
    }

    // ---------------------------------------------------------------- a codec that writes JSON

    /** Writes a String as {"text": ...}: JSON, but not the JSON Jackson would write for it. */
    static final class WrappingJsonCodec implements PayloadCodec {
        private final ObjectMapper mapper = new ObjectMapper();

        @Override
        public byte[] encode(Object payload, Type type) throws Exception {
            return mapper.writeValueAsBytes(Map.of("text", payload));
        }

        @Override
        public Object decode(byte[] data, Type type) throws Exception {
            return mapper.readTree(data).get("text").asText();
        }

        @Override
        public boolean isJson() {
            return true;
        }
    }

    @Test
    void aJsonCodecsOutputIsEmbeddedAsTheEnvelopesPayload() throws Exception {
        use(t -> Queues.builder(t).payloadCodec(new WrappingJsonCodec()));
        List<String> handled = new CopyOnWriteArrayList<>();
        queues.enqueue("notes", String.class).send(TEXT);
        assertThat(envelopeOnTheWire("notes").get("payload").toString()).isEqualTo("{\"text\":\"" + TEXT + "\"}");

        queues.processor("notes", String.class).handler(handled::add).start();
        waitFor("handled", () -> handled.size() == 1);
        assertThat(handled).containsExactly(TEXT);
    }

    @Test
    void aCodecThatSaysJsonButWritesSomethingElseFailsTheSend() {
        PayloadCodec liar = new PayloadCodec() {
            @Override
            public byte[] encode(Object payload, Type type) {
                return "text, not JSON".getBytes(UTF_8);
            }

            @Override
            public Object decode(byte[] data, Type type) {
                return new String(data, UTF_8);
            }

            @Override
            public boolean isJson() {
                return true;
            }
        };
        use(t -> Queues.builder(t).payloadCodec(liar));

        assertThatThrownBy(() -> queues.enqueue("notes", String.class).send("x"))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("says it writes JSON, but its output for a java.lang.String is not JSON")
                .hasCauseInstanceOf(IllegalArgumentException.class);
        assertThat(transport.bodies("notes")).isEmpty();
    }

    @Test
    void aCodecThatThrowsOnEncodeFailsTheSendWithItsExceptionAsTheCause() {
        assertThatThrownBy(() -> queues.enqueue("notes", Integer.class).send(5))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("payload codec " + MarkedUtf8Codec.class.getName() + " cannot encode a java.lang.Integer")
                .hasRootCauseInstanceOf(ClassCastException.class);
    }

    // ---------------------------------------------------------------- the default codec

    record Parcel(String trackingCode) {
    }

    @Test
    void theInMemoryTransportReadsWithTheQueuesObjectMapper() throws Exception {
        ObjectMapper snake = Json.newMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        use(t -> Queues.builder(t).objectMapper(snake));
        queues.enqueue("parcels", Parcel.class).send(new Parcel("TR-1"));
        assertThat(envelopeOnTheWire("parcels").get("payload").toString()).isEqualTo("{\"tracking_code\":\"TR-1\"}");

        assertThat(transport.messages("parcels", Parcel.class)).singleElement()
                .satisfies(m -> assertThat(m.payload()).isEqualTo(new Parcel("TR-1")));
    }

    @Test
    void theTransportCanBeToldAnotherCodec() throws Exception {
        queues.enqueue("notes", String.class).send(TEXT);
        // The last Queues built over the transport sets its codec: here JSON, which reads the payload as its base64 text.
        Queues.using(transport);
        assertThat(transport.messages("notes", String.class)).singleElement()
                .satisfies(m -> assertThat(m.payload()).isEqualTo(Base64.getEncoder().encodeToString(ENCODED)));

        transport.payloadCodec(new MarkedUtf8Codec());
        assertThat(transport.messages("notes", String.class)).singleElement()
                .satisfies(m -> assertThat(m.payload()).isEqualTo(TEXT));
    }
}
