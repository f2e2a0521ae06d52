package io.resq.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Failure;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.TypeRef;
import io.resq.spi.Capability;
import io.resq.spi.Outbound;
import io.resq.spi.PayloadCodec;
import io.resq.spi.Transport;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The processor scenarios every transport runs: the failure path (retry, redelivery with history,
 * dead letter), undecodable input, the circuit breaker, timeouts, per-key order, a close in the
 * middle of a stream, a generic payload type and a payload codec of the application's own. A
 * transport module extends it with {@link #createTransport()}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class ProcessorContract {

    /** The consumer group of the processors under test. */
    protected static final String GROUP = "contract";

    /** The queues under test, over a fresh transport, created before each test and closed after it. */
    protected Queues queues;
    /** The transport under {@link #queues}. */
    protected Transport transport;

    /** A new transport connected to the test broker. */
    protected abstract Transport createTransport() throws Exception;

    /** Upper bound for anything to arrive. */
    protected Duration timeout() {
        return Duration.ofSeconds(60);
    }

    /** A queue name unique to this run. */
    protected String queueName(String base) {
        return "proc_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    @BeforeEach
    void open() throws Exception {
        transport = createTransport();
        queues = Queues.using(transport);
    }

    @AfterEach
    void close() {
        if (queues != null) {
            queues.close();
        }
    }

    /** Waits until {@code condition} holds or the timeout passes; returns whether it held. */
    protected boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout().toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }

    /** Takes {@code n} messages from the dead-letter queue {@code dlq} as {@code type}, acking them. */
    protected <T> List<Msg<T>> deadLetters(String dlq, Class<T> type, int n) throws InterruptedException {
        return deadLetters(queues, dlq, TypeRef.of(type), n);
    }

    /** Takes {@code n} messages from the dead-letter queue {@code dlq} through {@code from} as {@code type}, acking them. */
    protected <T> List<Msg<T>> deadLetters(Queues from, String dlq, TypeRef<T> type, int n) throws InterruptedException {
        List<Msg<T>> out = new ArrayList<>();
        try (Dequeue<T> dead = from.dequeue(dlq, type, "dlq-reader")) {
            long deadline = System.nanoTime() + timeout().toNanos();
            while (out.size() < n && System.nanoTime() < deadline) {
                Msg<T> m = dead.messages().poll(100, TimeUnit.MILLISECONDS);
                if (m != null) {
                    out.add(m);
                    dead.ack(m);
                }
            }
        }
        return out;
    }

    @Test
    void sendAndProcessMany() throws Exception {
        String queue = queueName("many");
        int n = 500;
        Set<String> handled = ConcurrentHashMap.newKeySet();
        Processor<String> p = queues.processor(queue, String.class).group(GROUP).concurrency(4).handler(handled::add).start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        for (int i = 0; i < n; i++) {
            out.messages().put("m" + i);
        }

        assertThat(await(() -> handled.size() == n)).as("handled %s of %s", handled.size(), n).isTrue();
        assertThat(out.deadLetters()).isEmpty();
        assertThat(await(() -> p.health().succeeded() >= n)).isTrue();
    }

    @Test
    void retryThenRedeliveryWithHistoryThenDeadLetter() throws Exception {
        String queue = queueName("fail");
        AtomicInteger calls = new AtomicInteger();
        List<Integer> attempts = Collections.synchronizedList(new ArrayList<>());
        queues.processor(queue, String.class).group(GROUP)
                .retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .msgHandler(m -> {
                    calls.incrementAndGet();
                    attempts.add(m.attempt());
                    throw new IllegalStateException("db down");
                })
                .start();
        Msg<String> sent = queues.enqueue(queue, String.class).send(Msg.builder("order-1").key("customer-7").category("OrderPlaced").build());

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);

        assertThat(dead).hasSize(1);
        Msg<String> d = dead.get(0);
        assertThat(d.id()).isEqualTo(sent.id());
        assertThat(d.payload()).isEqualTo("order-1");
        assertThat(d.key()).isEqualTo("customer-7");
        assertThat(d.category()).isEqualTo("OrderPlaced");
        assertThat(d.errors()).hasSize(2);
        for (Failure f : d.errors()) {
            assertThat(f.statusCode()).isEqualTo(500);
            assertThat(f.type()).isEqualTo(IllegalStateException.class.getName());
            assertThat(f.message()).isEqualTo("db down");
            assertThat(f.stackTrace()).contains("IllegalStateException");
        }
        assertThat(calls.get()).as("retry 2 x redelivery 2 calls").isEqualTo(4);
        assertThat(attempts).containsExactly(1, 1, 2, 2);
    }

    /**
     * Headers set on send reach the handler on the first delivery and on a redelivery, and are in
     * the dead-letter queue: a trace context is never lost at the first retry.
     */
    @Test
    void headersReachTheHandlerOnEveryDeliveryAndTheDeadLetterQueue() throws Exception {
        String queue = queueName("headers");
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        headers.put("x-tenant", "zürich ✓");
        List<Map<String, String>> seen = Collections.synchronizedList(new ArrayList<>());
        queues.processor(queue, String.class).group(GROUP)
                .retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .msgHandler(m -> {
                    seen.add(m.headers());
                    throw new IllegalStateException("fails every time");
                })
                .start();
        queues.enqueue(queue, String.class).send(Msg.builder("order-1").headers(headers).build());

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);

        assertThat(dead).hasSize(1);
        assertThat(seen).as("first delivery and redelivery").hasSize(2).allSatisfy(h -> assertThat(h).isEqualTo(headers));
        assertThat(dead.get(0).headers()).isEqualTo(headers);
        assertThat(dead.get(0).errors()).hasSize(2);
    }

    /** A message sent with a delay is handled no sooner than the delay, by the broker's own delay mechanism. */
    @Test
    void aDelayedSendIsHandledNoSoonerThanItsDelay() throws Exception {
        String queue = queueName("delayed");
        Map<String, Long> handledAt = new ConcurrentHashMap<>();
        queues.processor(queue, String.class).group(GROUP).handler(p -> handledAt.put(p, System.nanoTime())).start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        long sentAt = System.nanoTime();
        out.send(Msg.builder("later").deliverAfter(Duration.ofSeconds(2)).build());
        out.send("now");

        assertThat(await(() -> handledAt.containsKey("later"))).isTrue();
        assertThat(handledAt).containsKey("now");
        assertThat(Duration.ofNanos(handledAt.get("later") - sentAt)).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    /** A batch handler that fails one message of a batch: that one alone is redelivered and dead-lettered with its own history. */
    @Test
    void aBatchHandlerFailsOneMessageAndOnlyThatOneEndsInTheDeadLetterQueue() throws Exception {
        String queue = queueName("batch");
        Enqueue<String> out = queues.enqueue(queue, String.class);
        for (int i = 0; i < 10; i++) {
            out.send(Msg.builder("m" + i).id(queue + "-" + i).build());
        }
        Set<String> acked = ConcurrentHashMap.newKeySet();
        queues.processor(queue, String.class).group(GROUP).batchSize(10).batchWait(Duration.ofMillis(500))
                .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(2))
                .batchHandler(batch -> {
                    for (Msg<String> m : batch.messages()) {
                        if (m.payload().equals("m3")) {
                            batch.fail(m, new IllegalStateException("row 3 rejected"));
                        } else {
                            acked.add(m.payload());
                        }
                    }
                })
                .start();

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);

        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).payload()).isEqualTo("m3");
        assertThat(dead.get(0).errors()).hasSize(2).allSatisfy(f -> assertThat(f.message()).isEqualTo("row 3 rejected"));
        assertThat(acked).hasSize(9).doesNotContain("m3");
    }

    @Test
    void undecodableBodyIsDeadLetteredWith400AndTheStreamGoesOn() throws Exception {
        String queue = queueName("garbage");
        byte[] garbage = {'{', '"', 'n', 'o', (byte) 0xff, 0};
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor(queue, String.class).group(GROUP).handler(handled::add).start();
        transport.sender(queue).send(Outbound.of("garbage-1", garbage)).get(30, TimeUnit.SECONDS);
        queues.enqueue(queue, String.class).send("after");

        assertThat(await(() -> handled.contains("after"))).isTrue();
        List<Msg<byte[]>> dead = deadLetters(queue + "_deadletter", byte[].class, 1);
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).payload()).as("the body is kept byte for byte").isEqualTo(garbage);
        assertThat(dead.get(0).id()).isEqualTo("garbage-1");
        assertThat(dead.get(0).errors()).hasSize(1);
        assertThat(dead.get(0).errors().get(0).statusCode()).isEqualTo(400);
    }

    @Test
    void timeoutCountsAs504() throws Exception {
        String queue = queueName("slow");
        queues.processor(queue, String.class).group(GROUP)
                .retry(RetryPolicy.none())
                .redelivery(RetryPolicy.none())
                .timeout(Duration.ofMillis(200))
                .handler(s -> Thread.sleep(10_000))
                .start();
        queues.enqueue(queue, String.class).send("slow");

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).errors()).extracting(Failure::statusCode).containsExactly(504);
    }

    @Test
    void openCircuitStopsFetchingAndLosesNothing() throws Exception {
        String queue = queueName("circuit");
        AtomicBoolean broken = new AtomicBoolean(true);
        AtomicInteger calls = new AtomicInteger();
        Set<String> handled = ConcurrentHashMap.newKeySet();
        Processor<String> p = queues.processor(queue, String.class).group(GROUP)
                .retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(50))
                .circuitBreaker(CircuitBreakerConfig.custom()
                        .slidingWindowSize(4).minimumNumberOfCalls(4).failureRateThreshold(50)
                        .waitDurationInOpenState(Duration.ofSeconds(3)).permittedNumberOfCallsInHalfOpenState(1)
                        .build())
                .handler(s -> {
                    calls.incrementAndGet();
                    if (broken.get()) {
                        throw new IllegalStateException("dependency down");
                    }
                    handled.add(s);
                })
                .start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        for (int i = 0; i < 4; i++) {
            out.send("first-" + i);
        }
        assertThat(await(() -> p.health().circuitState().equals("OPEN"))).as("circuit opens after 4 failures").isTrue();
        assertThat(queues.health().isUp()).isFalse();

        int callsWhenOpened = calls.get();
        for (int i = 0; i < 20; i++) {
            out.send("later-" + i);
        }
        Thread.sleep(1500);
        assertThat(calls.get()).as("no handler call while the circuit is open").isEqualTo(callsWhenOpened);
        assertThat(p.health().deadLettered()).isZero();

        broken.set(false);
        assertThat(await(() -> handled.size() == 24)).as("handled %s of 24 after the circuit closed", handled.size()).isTrue();
        assertThat(p.health().circuitState()).isEqualTo("CLOSED");
        assertThat(p.health().deadLettered()).isZero();
    }

    @Test
    void sameKeyNeverConcurrentAndInOrderUnderConcurrency() throws Exception {
        String queue = queueName("keys");
        int keys = 4;
        int perKey = 25;
        Set<String> active = ConcurrentHashMap.newKeySet();
        AtomicBoolean overlap = new AtomicBoolean();
        Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
        AtomicInteger count = new AtomicInteger();
        queues.processor(queue, String.class).group(GROUP)
                .concurrency(8)
                .msgHandler(m -> {
                    if (!active.add(m.key())) {
                        overlap.set(true);
                    }
                    Thread.sleep(2);
                    seen.computeIfAbsent(m.key(), k -> Collections.synchronizedList(new ArrayList<>()))
                            .add(Integer.parseInt(m.payload().substring(m.payload().indexOf(':') + 1)));
                    active.remove(m.key());
                    count.incrementAndGet();
                })
                .start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        for (int i = 0; i < perKey; i++) {
            for (int k = 0; k < keys; k++) {
                out.send(Msg.builder("k" + k + ":" + i).key("k" + k).build());
            }
        }

        assertThat(await(() -> count.get() >= keys * perKey)).isTrue();
        assertThat(overlap.get()).as("two messages of one key ran at the same time").isFalse();
        if (transport.capabilities().contains(Capability.ORDERED_BY_KEY)) {
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < perKey; i++) {
                expected.add(i);
            }
            seen.forEach((key, order) -> assertThat(order).as("order of %s", key).isEqualTo(expected));
        }
    }

    @Test
    void closeMidStreamLosesNothing() throws Exception {
        String queue = queueName("close");
        int n = 200;
        Set<String> handled = ConcurrentHashMap.newKeySet();
        Processor<String> first = queues.processor(queue, String.class).group(GROUP).concurrency(4).handler(s -> {
            Thread.sleep(5);
            handled.add(s);
        }).start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        Set<String> sent = new HashSet<>();
        for (int i = 0; i < n; i++) {
            out.send("m" + i);
            sent.add("m" + i);
        }
        assertThat(await(() -> handled.size() >= 30)).isTrue();
        first.close();
        int handledByFirst = handled.size();
        assertThat(first.health().running()).isFalse();

        queues.processor(queue, String.class).group(GROUP).concurrency(4).handler(handled::add).start();

        assertThat(await(() -> handled.size() == n)).as("handled %s of %s (%s by the first processor)", handled.size(), n, handledByFirst).isTrue();
        assertThat(handled).isEqualTo(sent);
    }

    @Test
    void healthReportsTheTransportAndEachProcessor() throws Exception {
        String queue = queueName("health");
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor(queue, String.class).group(GROUP).handler(handled::add).start();
        queues.enqueue(queue, String.class).send("x");

        assertThat(await(() -> queues.health().processors().get(0).succeeded() == 1)).isTrue();
        assertThat(queues.health().transport().isUp()).isTrue();
        assertThat(queues.health().processors()).singleElement().satisfies(h -> {
            assertThat(h.queue()).isEqualTo(queue);
            assertThat(h.circuitState()).isEqualTo("DISABLED");
            assertThat(h.inFlight()).isZero();
        });
        assertThat(handled).containsExactly("x");
    }

    @Test
    void aRefusedDeadLetterCopyGoesBackAfterABackOffAndLandsOnceTheBrokerTakesIt() throws Exception {
        String queue = queueName("refused");
        RefusingTransport refusing = new RefusingTransport(transport).refuse(queue + "_deadletter", RefusingTransport.Mode.FAIL_SENDS);
        AtomicInteger calls = new AtomicInteger();
        try (Queues over = Queues.using(refusing)) {
            Processor<String> p = over.processor(queue, String.class).group(GROUP).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                    .handler(s -> {
                        calls.incrementAndGet();
                        throw new IllegalStateException("always");
                    }).start();
            queues.enqueue(queue, String.class).send("x");

            assertThat(await(() -> p.health().refusedCopies() >= 1)).as("the copy was refused").isTrue();
            Thread.sleep(2500);
            assertThat(calls.get()).as("handler calls in 2.5 s of refusals: a back-off, not a tight loop").isBetween(1, 4);

            refusing.heal(queue + "_deadletter");
            List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);
            assertThat(dead).singleElement().satisfies(m -> {
                assertThat(m.payload()).isEqualTo("x");
                assertThat(m.errors()).extracting(Failure::message).containsExactly("always");
            });
        }
    }

    @Test
    void aRetrySenderThatThrowsReleasesAfterABackOff() throws Exception {
        String queue = queueName("throwing");
        RefusingTransport refusing = new RefusingTransport(transport);
        AtomicInteger calls = new AtomicInteger();
        try (Queues over = Queues.using(refusing)) {
            queues.enqueue(queue, String.class).send("x");
            refusing.refuse(queue, RefusingTransport.Mode.THROW_FROM_SENDER);
            Processor<String> p = over.processor(queue, String.class).group(GROUP).retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(2))
                    .handler(s -> {
                        calls.incrementAndGet();
                        throw new IllegalStateException("always");
                    }).start();

            assertThat(await(() -> p.health().refusedCopies() >= 1)).as("the sender threw").isTrue();
            Thread.sleep(2500);
            assertThat(calls.get()).isBetween(1, 4);

            refusing.heal(queue);
            List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);
            assertThat(dead).singleElement().satisfies(m -> assertThat(m.errors()).hasSize(2));
        }
    }

    @Test
    void aCopyOverTheBrokersLimitStillReachesTheDeadLetterQueue() throws Exception {
        String queue = queueName("huge");
        int limit = Math.min(transport.maxBodySize(), Queues.DEFAULT_MAX_BODY_SIZE);
        // As large as Enqueue accepts, less room for the envelope's own fields.
        String payload = "p".repeat(limit - Math.min(Queues.HISTORY_RESERVE_BYTES, limit / 4) - 1024);
        queues.processor(queue, String.class).group(GROUP).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(3))
                .handler(s -> {
                    throw new IllegalStateException("e".repeat(100_000));
                }).start();
        queues.enqueue(queue, String.class).send(payload);

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);
        assertThat(dead).singleElement().satisfies(m -> {
            assertThat(m.payload()).isEqualTo(payload);
            assertThat(m.errors()).hasSize(3);
            assertThat(m.errors()).allSatisfy(f -> assertThat(f.message()).startsWith("eee"));
        });
    }

    @Test
    void aRedeliveryBelongsToTheGroupThatFailed() throws Exception {
        String queue = queueName("groups");
        int n = 10;
        Map<String, AtomicInteger> failedByA = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> handledByA = new ConcurrentHashMap<>();
        Map<String, AtomicInteger> handledByB = new ConcurrentHashMap<>();
        RetryPolicy redelivery = RetryPolicy.fixed(Duration.ofMillis(200)).maxAttempts(3);
        // Group a fails every message once; group b never fails.
        queues.processor(queue, String.class).group("a").retry(RetryPolicy.none()).redelivery(redelivery).concurrency(2)
                .msgHandler(m -> {
                    if (failedByA.computeIfAbsent(m.id(), k -> new AtomicInteger()).getAndIncrement() == 0) {
                        throw new IllegalStateException("a fails " + m.id() + " once");
                    }
                    handledByA.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                }).start();
        queues.processor(queue, String.class).group("b").retry(RetryPolicy.none()).redelivery(redelivery).concurrency(2)
                .msgHandler(m -> handledByB.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet()).start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(out.send(Msg.builder("m" + i).key("k" + i).build()).id());
        }

        if (transport.capabilities().contains(Capability.CONSUMER_GROUPS)) {
            assertThat(await(() -> handledByA.size() == n && handledByB.size() == n))
                    .as("a handled %s, b handled %s of %s", handledByA.size(), handledByB.size(), n).isTrue();
            Thread.sleep(1500); // room for a stray copy to arrive
            assertThat(handledByB.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(handledByB.values()).as("b handles each message once, never a's redelivery").allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
            assertThat(failedByA.values()).as("a: the original, then its own redelivery").allSatisfy(c -> assertThat(c.get()).isEqualTo(2));
            assertThat(handledByA.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
        } else {
            // Without consumer groups the group is a no-op: the two processors compete, and each message succeeds once.
            assertThat(await(() -> ids.stream().allMatch(id -> handledByA.containsKey(id) || handledByB.containsKey(id)))).isTrue();
            Thread.sleep(1500);
            for (String id : ids) {
                int successes = handledByA.getOrDefault(id, new AtomicInteger()).get() + handledByB.getOrDefault(id, new AtomicInteger()).get();
                assertThat(successes).as("successes of %s", id).isEqualTo(1);
            }
        }
        assertThat(queues.health().processors()).allSatisfy(h -> assertThat(h.deadLettered()).isZero());
    }

    @Test
    void aGroupCreatedLaterDoesNotReplayAnotherGroupsRedeliveries() throws Exception {
        String queue = queueName("latecomer");
        int n = 10;
        Map<String, AtomicInteger> failedByA = new ConcurrentHashMap<>();
        queues.processor(queue, String.class).group("a").retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(3)).concurrency(2)
                .msgHandler(m -> {
                    if (failedByA.computeIfAbsent(m.id(), k -> new AtomicInteger()).getAndIncrement() == 0) {
                        throw new IllegalStateException("a fails " + m.id() + " once");
                    }
                }).start();
        Enqueue<String> out = queues.enqueue(queue, String.class);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(out.send(Msg.builder("m" + i).key("k" + i).build()).id());
        }
        assertThat(await(() -> failedByA.size() == n && failedByA.values().stream().allMatch(c -> c.get() == 2)))
                .as("a handled its own redeliveries").isTrue();

        Map<String, AtomicInteger> handledByC = new ConcurrentHashMap<>();
        queues.processor(queue, String.class).group("c")
                .msgHandler(m -> handledByC.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet()).start();
        if (transport.capabilities().contains(Capability.CONSUMER_GROUPS)) {
            assertThat(await(() -> handledByC.size() == n)).as("c handled %s of %s", handledByC.size(), n).isTrue();
            Thread.sleep(1500);
            assertThat(handledByC.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(handledByC.values()).as("c sees each original once and none of a's redeliveries")
                    .allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
        } else {
            // Without consumer groups every message was already handled and acked: nothing is left for c.
            Thread.sleep(1500);
            assertThat(handledByC).isEmpty();
        }
    }

    @Test
    void aDeadLetterNamesTheGroupThatGaveItUp() throws Exception {
        String queue = queueName("deadgroup");
        queues.processor(queue, String.class).group("billing").retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalStateException("never");
                }).start();
        queues.enqueue(queue, String.class).send("x");

        List<Msg<String>> dead = deadLetters(queue + "_deadletter", String.class, 1);
        assertThat(dead).singleElement().satisfies(m -> assertThat(m.attributes()).containsEntry("resq-group", "billing"));
    }

    /** An element of the generic payload below. */
    public record Line(String sku, int quantity) {
    }

    @Test
    void aGenericListPayloadKeepsItsElementTypeThroughTheBroker() throws Exception {
        String queue = queueName("generic");
        TypeRef<List<Line>> lines = new TypeRef<List<Line>>() {
        };
        List<List<Line>> handled = new CopyOnWriteArrayList<>();
        queues.processor(queue, lines).group(GROUP).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(200)).maxAttempts(2))
                .handler(order -> {
                    if (order.isEmpty()) {
                        throw new IllegalStateException("an order without lines");
                    }
                    handled.add(order);
                })
                .start();
        Enqueue<List<Line>> out = queues.enqueue(queue, lines);
        out.send(List.of(new Line("pen", 2), new Line("ink", 1)));
        out.send(List.of());

        assertThat(await(() -> handled.size() == 1)).isTrue();
        assertThat(handled.get(0)).containsExactly(new Line("pen", 2), new Line("ink", 1));
        List<Msg<List<Line>>> dead = deadLetters(queues, queue + "_deadletter", lines, 1);
        assertThat(dead).singleElement().satisfies(m -> {
            assertThat(m.payload()).isEmpty();
            assertThat(m.errors()).extracting(Failure::message).containsExactly("an order without lines", "an order without lines");
        });
    }

    /**
     * A payload codec that does not write JSON: a {@code String} as its UTF-8 bytes behind a
     * two-byte mark that decoding insists on, so only what this codec wrote reads back.
     */
    private static final class MarkedUtf8Codec implements PayloadCodec {
        private static final byte[] MARK = {(byte) 0xC0, (byte) 0xDE};

        @Override
        public byte[] encode(Object payload, Type type) {
            byte[] text = ((String) payload).getBytes(StandardCharsets.UTF_8);
            byte[] out = Arrays.copyOf(MARK, MARK.length + text.length);
            System.arraycopy(text, 0, out, MARK.length, text.length);
            return out;
        }

        @Override
        public Object decode(byte[] data, Type type) {
            if (data.length < MARK.length || data[0] != MARK[0] || data[1] != MARK[1]) {
                throw new IllegalArgumentException("no 0xC0DE mark");
            }
            return new String(data, MARK.length, data.length - MARK.length, StandardCharsets.UTF_8);
        }

        @Override
        public boolean isJson() {
            return false;
        }
    }

    @Test
    void aPayloadCodecOfTheApplicationsOwnRoundTripsThroughTheBroker() throws Exception {
        String queue = queueName("codec");
        List<String> handled = new CopyOnWriteArrayList<>();
        try (Queues coded = Queues.builder(createTransport()).payloadCodec(new MarkedUtf8Codec()).build()) {
            coded.processor(queue, String.class).group(GROUP).retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(200)).maxAttempts(2))
                    .handler(s -> {
                        if (s.startsWith("bad")) {
                            throw new IllegalStateException("refused " + s.length());
                        }
                        handled.add(s);
                    })
                    .start();
            Enqueue<String> out = coded.enqueue(queue, String.class);
            out.send(Msg.builder("grüße ✓").key("k1").build());
            Msg<String> bad = out.send(Msg.builder("bad ✗").key("k2").attribute("trace", "t1").build());

            assertThat(await(() -> handled.size() == 1)).isTrue();
            assertThat(handled).containsExactly("grüße ✓");
            List<Msg<String>> dead = deadLetters(coded, queue + "_deadletter", TypeRef.of(String.class), 1);
            assertThat(dead).singleElement().satisfies(m -> {
                assertThat(m.id()).isEqualTo(bad.id());
                assertThat(m.payload()).as("the dead letter decodes with the codec").isEqualTo("bad ✗");
                assertThat(m.attributes()).containsEntry("trace", "t1");
                assertThat(m.errors()).extracting(Failure::message).containsExactly("refused 5", "refused 5");
            });
        }
    }
}
