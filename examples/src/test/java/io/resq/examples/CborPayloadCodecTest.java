package io.resq.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import io.resq.EnvelopeMode;
import io.resq.Failure;
import io.resq.Listener;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.TypeRef;
import io.resq.memory.InMemoryTransport;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Orders as CBOR instead of JSON, with {@link CborPayloadCodec}: the same processor, the same failure path. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class CborPayloadCodecTest {

    private static final Order ORDER = new Order(42, "carol", new BigDecimal("30.50"));

    private InMemoryTransport transport = InMemoryTransport.create();
    private Queues queues = Queues.builder(transport).payloadCodec(new CborPayloadCodec()).listener(Listener.NONE).build();

    @AfterEach
    void closeQueues() {
        queues.close();
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(condition.getAsBoolean()).isTrue();
    }

    @Test
    void anOrderTravelsAsCborInsideTheEnvelope() throws Exception {
        List<Order> charged = new CopyOnWriteArrayList<>();
        queues.enqueue("orders", Order.class).send(ORDER);

        // The envelope is JSON as always; its payload is the CBOR bytes, base64-encoded.
        JsonNode envelope = new ObjectMapper().readTree(transport.bodies("orders").get(0));
        byte[] cbor = Base64.getDecoder().decode(envelope.get("payload").asText());
        assertThat(new CBORMapper().readValue(cbor, Order.class)).isEqualTo(ORDER);

        queues.processor("orders", Order.class).handler(charged::add).start();
        waitFor(() -> charged.size() == 1);
        assertThat(charged).containsExactly(ORDER);
    }

    @Test
    void aDeadLetterKeepsItsHistoryAndReadsBackThroughTheCodec() throws Exception {
        queues.processor("orders", Order.class)
                .retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                .handler(order -> {
                    throw new IllegalStateException("payment gateway down");
                })
                .start();
        queues.enqueue("orders", Order.class).send(Msg.builder(ORDER).key("carol").build());

        waitFor(() -> transport.bodies("orders_deadletter").size() == 1);
        // The in-memory transport decodes with the codec of the Queues built over it.
        Msg<Order> dead = transport.messages("orders_deadletter", Order.class).get(0);
        assertThat(dead.payload()).isEqualTo(ORDER);
        assertThat(dead.key()).isEqualTo("carol");
        assertThat(dead.errors()).extracting(Failure::message).containsExactly(
                "payment gateway down", "payment gateway down", "payment gateway down");
    }

    @Test
    void aBatchOfOrdersIsAGenericPayload() throws Exception {
        TypeRef<List<Order>> batch = new TypeRef<List<Order>>() {
        };
        List<List<Order>> charged = new CopyOnWriteArrayList<>();
        queues.processor("batches", batch).handler(charged::add).start();
        queues.enqueue("batches", batch).send(List.of(ORDER, new Order(43, "dan", new BigDecimal("5"))));

        waitFor(() -> charged.size() == 1);
        assertThat(charged.get(0)).containsExactly(ORDER, new Order(43, "dan", new BigDecimal("5")));
    }

    @Test
    void inRawModeTheBodyIsTheCborItself() throws Exception {
        queues.close();
        transport = InMemoryTransport.create();
        queues = Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).payloadCodec(new CborPayloadCodec())
                .listener(Listener.NONE).build();
        queues.enqueue("orders", Order.class).send(ORDER);

        assertThat(new CBORMapper().readValue(transport.bodies("orders").get(0), Order.class)).isEqualTo(ORDER);
        assertThat(transport.messages("orders", Order.class)).singleElement()
                .satisfies(m -> assertThat(m.payload()).isEqualTo(ORDER));
    }
}
