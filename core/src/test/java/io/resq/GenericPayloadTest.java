package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.JsonNode;
import io.resq.internal.Json;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Payload types with type arguments ({@code List<Order>}), opened with a {@link TypeRef}. */
@Timeout(30)
class GenericPayloadTest {

    record Order(long id, String customer) {
    }

    private static final TypeRef<List<Order>> ORDERS = new TypeRef<List<Order>>() {
    };

    private InMemoryTransport transport = InMemoryTransport.create();
    private Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    private JsonNode payloadOnTheWire(String queue) throws Exception {
        List<byte[]> bodies = transport.bodies(queue);
        assertThat(bodies).hasSize(1);
        return Json.defaultMapper().readTree(bodies.get(0)).get("payload");
    }

    @Test
    void aProcessorOfAListGetsItsElementsAsTheirType() throws Exception {
        List<List<Order>> handled = new CopyOnWriteArrayList<>();
        queues.processor("batches", ORDERS).handler(handled::add).start();
        List<Order> batch = List.of(new Order(1, "ann"), new Order(2, "bob"));
        queues.enqueue("batches", ORDERS).send(batch);

        waitFor("the batch is handled", () -> handled.size() == 1);
        assertThat(handled.get(0)).containsExactlyElementsOf(batch);
        assertThat(handled.get(0)).allSatisfy(o -> assertThat(o).isInstanceOf(Order.class));
    }

    @Test
    void aFailedListIsDeadLetteredWithItsHistoryAndReadsBackAsAList() throws Exception {
        queues.processor("batches", ORDERS).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(b -> {
                    throw new IllegalStateException("billing down for " + b.size());
                }).start();
        queues.enqueue("batches", ORDERS).send(List.of(new Order(7, "cy")));

        waitFor("dead-lettered", () -> transport.bodies("batches_deadletter").size() == 1);
        List<Msg<List<Order>>> dead = transport.messages("batches_deadletter", ORDERS);
        assertThat(dead).singleElement().satisfies(m -> {
            assertThat(m.payload()).containsExactly(new Order(7, "cy"));
            assertThat(m.errors()).extracting(Failure::message).containsExactly("billing down for 1", "billing down for 1");
        });
    }

    @Test
    void aDequeueOfAListReceivesIt() throws Exception {
        try (Dequeue<List<Order>> in = queues.dequeue("batches", ORDERS, "readers")) {
            queues.enqueue("batches", ORDERS).send(List.of(new Order(3, "di")));
            Msg<List<Order>> m = in.messages().poll(5, TimeUnit.SECONDS);
            assertThat(m).isNotNull();
            assertThat(m.payload()).containsExactly(new Order(3, "di"));
            in.ack(m);
        }
    }

    @Test
    void refsToOneTypeShareOneEnqueue() {
        Enqueue<List<Order>> a = queues.enqueue("batches", new TypeRef<List<Order>>() {
        });
        Enqueue<List<Order>> b = queues.enqueue("batches", new TypeRef<List<Order>>() {
        });

        assertThat(a).isSameAs(b).isSameAs(queues.enqueue("batches", ORDERS));
        assertThat(queues.enqueue("batches", TypeRef.of(String.class))).isSameAs(queues.enqueue("batches", String.class)).isNotSameAs(a);
    }

    @Test
    void aPayloadThatDoesNotBindNamesTheGenericType() throws Exception {
        queues.processor("batches", ORDERS).handler(b -> { }).start();
        byte[] body = "{\"id\":\"m1\",\"payload\":{\"not\":\"a list\"}}".getBytes(UTF_8);
        transport.sender("batches").send(new Outbound("m1", null, Map.of(), body, Duration.ZERO)).get(5, TimeUnit.SECONDS);

        waitFor("dead-lettered", () -> transport.bodies("batches_deadletter").size() == 1);
        Msg<JsonNode> dead = transport.messages("batches_deadletter", JsonNode.class).get(0);
        assertThat(dead.errors()).singleElement().satisfies(f -> {
            assertThat(f.statusCode()).isEqualTo(400);
            assertThat(f.message()).startsWith("payload is not a java.util.List<io.resq.GenericPayloadTest$Order>: ");
        });
    }

    @Test
    void aListInRawModeIsTheBareJsonArray() throws Exception {
        queues.close();
        transport = InMemoryTransport.create();
        queues = Queues.builder(transport).envelopeMode(EnvelopeMode.RAW).build();
        List<List<Order>> handled = new CopyOnWriteArrayList<>();
        queues.enqueue("batches", ORDERS).send(List.of(new Order(4, "ed")));
        assertThat(new String(transport.bodies("batches").get(0), UTF_8)).isEqualTo("[{\"id\":4,\"customer\":\"ed\"}]");

        queues.processor("batches", ORDERS).handler(handled::add).start();
        waitFor("handled", () -> handled.size() == 1);
        assertThat(handled.get(0)).containsExactly(new Order(4, "ed"));
    }

    // ---------------------------------------------------------------- subclasses and type ids

    /** An element type that is not final: a list of them may hold subclasses. */
    static class Item {
        public String name;

        Item() {
        }

        Item(String name) {
            this.name = name;
        }
    }

    static class GiftItem extends Item {
        public String note;

        GiftItem() {
        }

        GiftItem(String name, String note) {
            super(name);
            this.note = note;
        }
    }

    @Test
    void aSubclassElementKeepsItsFields() throws Exception {
        queues.enqueue("items", new TypeRef<List<Item>>() {
        }).send(List.of(new Item("pen"), new GiftItem("mug", "for Ann")));

        assertThat(payloadOnTheWire("items").toString()).isEqualTo("[{\"name\":\"pen\"},{\"name\":\"mug\",\"note\":\"for Ann\"}]");
    }

    /** A generic root type that is not final: the payload may be a subclass. */
    static class Page<E> {
        public List<E> items = new ArrayList<>();
    }

    static class NumberedPage<E> extends Page<E> {
        public int number;
    }

    @Test
    void aSubclassOfAGenericRootKeepsItsFields() throws Exception {
        NumberedPage<Order> page = new NumberedPage<>();
        page.items.add(new Order(5, "fay"));
        page.number = 3;
        queues.enqueue("pages", new TypeRef<Page<Order>>() {
        }).send(page);

        assertThat(payloadOnTheWire("pages").toString()).isEqualTo("{\"items\":[{\"id\":5,\"customer\":\"fay\"}],\"number\":3}");
    }

    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
    @JsonSubTypes({@JsonSubTypes.Type(value = Card.class, name = "card"), @JsonSubTypes.Type(value = Cash.class, name = "cash")})
    interface Payment {
    }

    record Card(String last4) implements Payment {
    }

    record Cash(int cents) implements Payment {
    }

    @Test
    void polymorphicElementsCarryTheirTypeIdsAndComeBackAsTheirTypes() throws Exception {
        TypeRef<List<Payment>> payments = new TypeRef<List<Payment>>() {
        };
        List<List<Payment>> handled = new CopyOnWriteArrayList<>();
        queues.enqueue("payments", payments).send(List.of(new Card("4242"), new Cash(500)));
        // Written as a declared List<Payment>: a bare ArrayList would leave the type ids out, and the list would not read back.
        assertThat(payloadOnTheWire("payments").toString())
                .isEqualTo("[{\"kind\":\"card\",\"last4\":\"4242\"},{\"kind\":\"cash\",\"cents\":500}]");

        queues.processor("payments", payments).handler(handled::add).start();
        waitFor("handled", () -> handled.size() == 1);
        assertThat(handled.get(0)).containsExactly(new Card("4242"), new Cash(500));
    }
}
