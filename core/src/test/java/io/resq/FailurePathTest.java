package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The failure path at its edges: nothing wedges a key, spins a handler, drops or rewrites a message. */
@Timeout(60)
class FailurePathTest {

    private InMemoryTransport transport = InMemoryTransport.create();
    private Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    private void use(InMemoryTransport t) {
        use(t, Queues.builder(t));
    }

    private void use(InMemoryTransport t, Queues.Builder builder) {
        queues.close();
        transport = t;
        queues = builder.build();
    }

    private static void waitFor(String what, BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).as(what).isTrue();
    }

    private void sendBody(String queue, String id, String key, String json) throws Exception {
        transport.sender(queue).send(new Outbound(id, key, Map.of(), json.getBytes(UTF_8), Duration.ZERO)).get(5, TimeUnit.SECONDS);
    }

    private String deadBody(String dlq) {
        List<byte[]> bodies = transport.bodies(dlq);
        assertThat(bodies).hasSize(1);
        return new String(bodies.get(0), UTF_8);
    }

    /** A payload type with a number that a double cannot hold exactly. */
    record Order(int orderId, double amount) {
    }

    // ------------------------------------------------------------------ every delivery is settled

    @Test
    void anEnvelopeThatCannotBecomeAMessageIsDeadLetteredAndItsKeyGoesOn() throws Exception {
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor("p", String.class).handler(handled::add).start();
        sendBody("p", "p1", "k", "{\"id\":\"p1\",\"key\":\"k\",\"payload\":\"x\",\"attributes\":{\"\":\"v\"}}");
        queues.enqueue("p", String.class).send(Msg.builder("next").key("k").build());

        waitFor("the next message of the key is handled", () -> handled.contains("next"));
        waitFor("p1 is dead-lettered", () -> transport.bodies("p_deadletter").size() == 1);
        Msg<byte[]> dead = transport.messages("p_deadletter", byte[].class).get(0);
        assertThat(dead.id()).isEqualTo("p1");
        assertThat(dead.errors()).extracting(Failure::statusCode).containsExactly(400);
        assertThat(handled).containsExactly("next");
    }

    @Test
    void aThrowingListenerNeverChangesTheOutcome() throws Exception {
        Listener throwing = new Listener() {
            @Override
            public void onReceived(Msg<?> msg) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void onSucceeded(Msg<?> msg, Duration duration) {
                throw new AssertionError("listener bug");
            }
        };
        InMemoryTransport t = InMemoryTransport.create();
        use(t, Queues.builder(t).listener(throwing));
        Set<String> handled = ConcurrentHashMap.newKeySet();
        Processor<String> p = queues.processor("l", String.class).handler(handled::add).start();
        queues.enqueue("l", String.class).send("a");

        waitFor("handled and acked", () -> p.health().succeeded() == 1 && transport.bodies("l").isEmpty());
        assertThat(handled).containsExactly("a");
        assertThat(transport.bodies("l_deadletter")).isEmpty();
    }

    /** A payload whose own deserialiser throws for one value, as custom deserialisers do. */
    @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = TouchyReader.class)
    record Touchy(String value) {
    }

    static final class TouchyReader extends com.fasterxml.jackson.databind.JsonDeserializer<Touchy> {
        @Override
        public Touchy deserialize(com.fasterxml.jackson.core.JsonParser p, com.fasterxml.jackson.databind.DeserializationContext c)
                throws IOException {
            String v = p.getValueAsString();
            if ("boom".equals(v)) {
                throw new IllegalStateException("deserialiser bug");
            }
            if ("worse".equals(v)) {
                throw new AssertionError("deserialiser assertion");
            }
            return new Touchy(v);
        }
    }

    @Test
    void aThrowingDeserialiserDeadLettersItsBodyAndTheKeyGoesOn() throws Exception {
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor("t", Touchy.class).handler(t -> handled.add(t.value())).start();
        Enqueue<String> raw = queues.enqueue("t", String.class);
        raw.send(Msg.builder("boom").key("k").build());
        raw.send(Msg.builder("worse").key("k").build());
        raw.send(Msg.builder("fine").key("k").build());

        waitFor("the next message of the key is handled", () -> handled.contains("fine"));
        waitFor("the bad ones are dead-lettered", () -> transport.bodies("t_deadletter").size() == 2);
        assertThat(transport.messages("t_deadletter", String.class))
                .allSatisfy(m -> assertThat(m.errors()).extracting(Failure::statusCode).containsExactly(400));
    }

    // ------------------------------------------------------------------ a copy that cannot be sent does not spin

    @Test
    void aRefusedDeadLetterCopyGoesBackAfterABackOffNotInATightLoop() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Processor<String> p = queues.processor("r", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("always");
                }).start();
        transport.failSends("r_deadletter", new IOException("broker down"));
        queues.enqueue("r", String.class).send("x");

        waitFor("the first refusal", () -> p.health().refusedCopies() >= 1);
        Thread.sleep(2500);
        assertThat(calls.get()).as("handler calls in about 2.5 s of refusals").isBetween(1, 4);
        assertThat(p.health().refusedCopies()).isBetween(1L, 4L);

        transport.healSends("r_deadletter");
        waitFor("dead-lettered once the broker takes it", () -> transport.bodies("r_deadletter").size() == 1);
        assertThat(transport.messages("r_deadletter", String.class)).singleElement()
                .satisfies(m -> assertThat(m.errors()).hasSize(1));
        waitFor("nothing left in flight", () -> p.health().inFlight() == 0 && transport.bodies("r").isEmpty());
    }

    @Test
    void aRetrySenderThatThrowsReleasesAfterABackOff() throws Exception {
        queues.close();
        transport = InMemoryTransport.create();
        FaultyTransport faulty = new FaultyTransport(transport);
        faulty.senderThrows.add("s"); // the retry copies' sender cannot even be opened
        queues = Queues.using(faulty);
        AtomicInteger calls = new AtomicInteger();
        Processor<String> p = queues.processor("s", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("always");
                }).start();
        transport.sender("s").send(queues.codec(String.class).encode(Msg.builder("x").queue("s").build(), Duration.ZERO)).get();

        waitFor("a refusal", () -> p.health().refusedCopies() >= 1);
        Thread.sleep(2500);
        assertThat(calls.get()).isBetween(1, 4);
        faulty.senderThrows.remove("s");
        waitFor("dead-lettered after two deliveries", () -> transport.bodies("s_deadletter").size() == 1);
        assertThat(transport.messages("s_deadletter", String.class).get(0).errors()).hasSize(2);
    }

    // ------------------------------------------------------------------ a message never outgrows the broker by failing

    @Test
    void aHugeExceptionMessageStillEndsInTheDeadLetterQueue() throws Exception {
        use(InMemoryTransport.create(Clock.systemUTC(), 64 * 1024));
        queues.processor("h", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                .handler(s -> {
                    throw new IllegalStateException("y".repeat(100_000));
                }).start();
        queues.enqueue("h", String.class).send("x");

        waitFor("dead-lettered after 3 deliveries", () -> transport.bodies("h_deadletter").size() == 1);
        Msg<String> dead = transport.messages("h_deadletter", String.class).get(0);
        assertThat(dead.errors()).hasSize(3);
        assertThat(dead.errors()).allSatisfy(f -> assertThat(f.message().getBytes(UTF_8).length).isLessThanOrEqualTo(2048));
        assertThat(dead.payload()).isEqualTo("x");
    }

    @Test
    void aCopyOverTheLimitDropsStackTracesThenMiddleEntries() throws Exception {
        use(InMemoryTransport.create(Clock.systemUTC(), 24 * 1024));
        queues.processor("g", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(8))
                .msgHandler(m -> deep(200, m.attempt()))
                .start();
        queues.enqueue("g", String.class).send("x".repeat(8 * 1024));

        waitFor("dead-lettered", () -> transport.bodies("g_deadletter").size() == 1);
        byte[] body = transport.bodies("g_deadletter").get(0);
        assertThat(body.length).isLessThanOrEqualTo(24 * 1024);
        Msg<String> dead = transport.messages("g_deadletter", String.class).get(0);
        assertThat(dead.payload()).isEqualTo("x".repeat(8 * 1024));
        assertThat(dead.errors().get(0).message()).isEqualTo("failed on delivery 1");
        assertThat(dead.errors().get(dead.errors().size() - 1).message()).isEqualTo("failed on delivery 8");
        assertThat(dead.errors().get(0).stackTrace()).as("older stack traces go first").isEmpty();
    }

    private static void deep(int depth, int attempt) {
        if (depth == 0) {
            throw new IllegalStateException("failed on delivery " + attempt);
        }
        deep(depth - 1, attempt);
    }

    @Test
    void aBodyWhoseCopyCannotFitIsDeadLetteredAsItArrivedWith413() throws Exception {
        use(InMemoryTransport.create(Clock.systemUTC(), 4096));
        queues.processor("b", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalStateException("no");
                }).start();
        // A foreign producer's envelope just under the limit, with a history already near it.
        String history = "{\"status_code\":500,\"type\":\"E\",\"message\":\"" + "m".repeat(1000) + "\",\"stack_trace\":\"\",\"date\":\"2026-01-01T00:00:00Z\"}";
        String body = "{\"id\":\"big-1\",\"payload\":\"" + "p".repeat(2950) + "\",\"error\":[" + history + "]}";
        assertThat(body.length()).isLessThan(4096);
        sendBody("b", "big-1", null, body);

        waitFor("dead-lettered", () -> transport.bodies("b_deadletter").size() == 1);
        assertThat(deadBody("b_deadletter")).as("kept as it arrived").isEqualTo(body);
        Msg<byte[]> dead = transport.messages("b_deadletter", byte[].class).get(0);
        assertThat(dead.id()).isEqualTo("big-1");
        assertThat(dead.errors()).extracting(Failure::statusCode).containsExactly(500, 413);
    }

    // ------------------------------------------------------------------ circuit breaker

    @Test
    void aPoisonMessageRefusedByTheBreakerAfterARealFailureReachesTheDeadLetterQueue() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Processor<String> p = queues.processor("c", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                .redelivery(RetryPolicy.none())
                .circuitBreaker(CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2).failureRateThreshold(50)
                        .waitDurationInOpenState(Duration.ofMillis(200)).permittedNumberOfCallsInHalfOpenState(1).build())
                .handler(s -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("poison");
                }).start();
        queues.enqueue("c", String.class).send("poison");

        waitFor("dead-lettered", () -> transport.bodies("c_deadletter").size() == 1);
        Msg<String> dead = transport.messages("c_deadletter", String.class).get(0);
        assertThat(dead.errors()).singleElement().satisfies(f -> {
            assertThat(f.statusCode()).isEqualTo(500);
            assertThat(f.message()).isEqualTo("poison");
        });
        // Counted once the broker confirmed the copy and the original is acked, just after the copy became visible.
        waitFor("counted", () -> p.health().deadLettered() == 1);
    }

    // ------------------------------------------------------------------ copies keep the message as received

    @Test
    void copiesKeepUnknownFieldsExactNumbersJsonAttributesAndUnknownEnvelopeFields() throws Exception {
        queues.processor("o", Order.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(o -> {
                    throw new IllegalStateException("declined");
                }).start();
        String payload = "{\"orderId\":7,\"amount\":12345678901234567.89,\"extra\":{\"a\":[1,2.50]}}";
        sendBody("o", "o1", null, "{\"id\":\"o1\",\"queue\":\"o\",\"attributes\":{\"n\":5,\"s\":\"x\",\"j\":{\"k\":true}},"
                + "\"payload\":" + payload + ",\"trace_id\":\"abc\",\"error\":[]}");

        waitFor("dead-lettered", () -> transport.bodies("o_deadletter").size() == 1);
        String dead = deadBody("o_deadletter");
        assertThat(dead).contains("\"payload\":" + payload);
        assertThat(dead).contains("\"n\":5").contains("\"s\":\"x\"").contains("\"j\":{\"k\":true}");
        assertThat(dead).contains("\"trace_id\":\"abc\"");
        assertThat(transport.messages("o_deadletter", Order.class).get(0).errors()).hasSize(2);
    }

    @Test
    void redriveNeverReserialisesThePayload() throws Exception {
        String payload = "{\"orderId\":7,\"amount\":12345678901234567.89,\"unknown\":\"kept\"}";
        sendBody("dl", "d1", null, "{\"id\":\"d1\",\"queue\":\"orders\",\"payload\":" + payload + ",\"error\":[]}");

        assertThat(queues.redrive("dl", "orders")).isEqualTo(1);
        List<byte[]> moved = transport.bodies("orders");
        assertThat(moved).hasSize(1);
        assertThat(new String(moved.get(0), UTF_8)).contains("\"payload\":" + payload);
    }

    @Test
    void oneBadDeadLetterNeverStopsARedrive() throws Exception {
        for (int i = 0; i < 3; i++) {
            sendBody("dl2", "d" + i, null, "{\"id\":\"d" + i + "\",\"payload\":\"v" + i + "\"}");
        }
        int moved = queues.redrive("dl2", "target", m -> {
            if (m.id().equals("d1")) {
                throw new IllegalStateException("filter bug");
            }
            return true;
        });

        assertThat(moved).isEqualTo(2);
        assertThat(transport.messages("target", String.class)).extracting(Msg::id).containsExactlyInAnyOrder("d0", "d2");
        assertThat(transport.messages("dl2", String.class)).extracting(Msg::id).containsExactly("d1");
    }

    @Test
    void rawBodiesKeepTheirBytes() throws Exception {
        InMemoryTransport t = InMemoryTransport.create();
        use(t, Queues.builder(t).envelopeMode(EnvelopeMode.RAW));
        queues.processor("raw", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalStateException("no");
                }).start();
        byte[] body = {'a', (byte) 0xff, 'b', (byte) 0xc3};
        transport.sender("raw").send(Outbound.of("raw-1", body)).get();

        waitFor("dead-lettered", () -> transport.bodies("raw_deadletter").size() == 1);
        assertThat(transport.bodies("raw_deadletter").get(0)).isEqualTo(body);
    }

    // ------------------------------------------------------------------ wrong payload type keeps its envelope

    @Test
    void aPayloadOfTheWrongTypeIsDeadLetteredAsItsEnvelopeWithA400Appended() throws Exception {
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor("w", Order.class).handler(o -> handled.add("" + o.orderId())).start();
        String earlier = "{\"status_code\":500,\"type\":\"E\",\"message\":\"earlier\",\"stack_trace\":\"\",\"date\":\"2026-01-01T00:00:00Z\"}";
        String payload = "{\"orderId\":\"not a number\",\"amount\":1.10}";
        sendBody("w", "w1", "k", "{\"id\":\"w1\",\"key\":\"k\",\"payload\":" + payload + ",\"error\":[" + earlier + "],\"x-extra\":1}");

        waitFor("dead-lettered", () -> transport.bodies("w_deadletter").size() == 1);
        String dead = deadBody("w_deadletter");
        assertThat(dead).startsWith("{").contains("\"id\":\"w1\"").contains("\"payload\":" + payload).contains("\"x-extra\":1");
        Msg<com.fasterxml.jackson.databind.JsonNode> env = transport.messages("w_deadletter", com.fasterxml.jackson.databind.JsonNode.class).get(0);
        assertThat(env.id()).isEqualTo("w1");
        assertThat(env.key()).isEqualTo("k");
        assertThat(env.errors()).extracting(Failure::statusCode).containsExactly(500, 400);
        assertThat(env.errors().get(1).message()).contains(Order.class.getName());
        assertThat(handled).isEmpty();
    }

    // ------------------------------------------------------------------ metadata never dead-letters a good payload

    @Test
    void unreadableDatesAreKeptAsTextAndTheMessageIsHandled() throws Exception {
        List<Msg<String>> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        queues.processor("d", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .msgHandler(m -> {
                    seen.add(m);
                    throw new IllegalStateException("then fail");
                }).start();
        String odd = "2016-03-04 T12:23:12:232";
        sendBody("d", "d1", null, "{\"id\":\"d1\",\"dispatch_date\":\"" + odd + "\",\"payload\":\"x\",\"error\":[{\"status_code\":500,"
                + "\"type\":\"E\",\"message\":\"m\",\"stack_trace\":\"\",\"date\":\"" + odd + "\"}]}");

        waitFor("dead-lettered", () -> transport.bodies("d_deadletter").size() == 1);
        assertThat(seen).singleElement().satisfies(m -> {
            assertThat(m.dispatchedAt()).isEqualTo(Instant.EPOCH);
            assertThat(m.errors()).singleElement().satisfies(f -> assertThat(f.date()).isEqualTo(Instant.EPOCH));
        });
        String dead = deadBody("d_deadletter");
        assertThat(dead).contains("\"dispatch_date\":\"" + odd + "\"").contains("\"date\":\"" + odd + "\"");
    }

    @Test
    void aBlankIdFallsBackToTheBrokersIdOnEveryDelivery() throws Exception {
        List<String> ids = new java.util.concurrent.CopyOnWriteArrayList<>();
        queues.processor("i", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                .msgHandler(m -> {
                    ids.add(m.id());
                    throw new IllegalStateException("no");
                }).start();
        sendBody("i", "broker-7", null, "{\"id\":\" \",\"payload\":\"x\"}");

        waitFor("dead-lettered", () -> transport.bodies("i_deadletter").size() == 1);
        assertThat(ids).containsExactly("broker-7", "broker-7", "broker-7");
        assertThat(transport.messages("i_deadletter", String.class).get(0).id()).isEqualTo("broker-7");
    }

    // ------------------------------------------------------------------ shutdown

    @Test
    void aHandlerFailingWhileItsProcessorClosesIsReleasedWhileItHadBudget() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch closing = new CountDownLatch(1);
        Processor<String> p = queues.processor("z", String.class).retry(RetryPolicy.none())
                .msgHandler(m -> {
                    running.countDown();
                    closing.await(10, TimeUnit.SECONDS);
                    throw new IllegalStateException("connection pool shut down");
                }).start();
        queues.enqueue("z", String.class).send("x");
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();

        Thread closer = new Thread(p::close);
        closer.start();
        waitFor("closing", () -> !p.health().running());
        closing.countDown();
        closer.join(10_000);

        assertThat(transport.bodies("z_deadletter")).isEmpty();
        assertThat(transport.messages("z", String.class)).singleElement().satisfies(m -> {
            assertThat(m.attempt()).isEqualTo(1);
            assertThat(m.errors()).isEmpty();
        });
        assertThat(p.health().redelivered()).isZero();
    }
}
