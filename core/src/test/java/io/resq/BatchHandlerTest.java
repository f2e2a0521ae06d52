package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Batch handlers: how batches form, and how the whole batch or single messages fail. */
@Timeout(30)
class BatchHandlerTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final Queues queues = Queues.using(memory);

    @AfterEach
    void close() {
        queues.close();
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Waits.until(Duration.ofSeconds(15), c);
    }

    private void sendAll(String queue, int n) {
        Enqueue<String> out = queues.enqueue(queue, String.class);
        for (int i = 0; i < n; i++) {
            out.send(Msg.builder("m" + i).id("id" + i).build());
        }
    }

    @Test
    void batchesFillUpToTheirSizeAndEveryMessageIsAckedOnce() throws Exception {
        sendAll("b", 250);
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        List<String> handled = new CopyOnWriteArrayList<>();
        Processor<String> p = queues.processor("b", String.class).batchSize(100).batchWait(Duration.ofSeconds(1))
                .batchHandler(batch -> {
                    sizes.add(batch.size());
                    handled.addAll(batch.payloads());
                }).start();

        assertThat(await(() -> handled.size() == 250)).as("handled %s", handled.size()).isTrue();
        assertThat(sizes).allSatisfy(s -> assertThat(s).isLessThanOrEqualTo(100));
        assertThat(sizes.stream().filter(s -> s == 100).count()).as("full batches in %s", sizes).isGreaterThanOrEqualTo(2);
        assertThat(handled).doesNotHaveDuplicates();
        assertThat(await(() -> p.health().succeeded() == 250 && p.health().inFlight() == 0)).isTrue();
        assertThat(memory.messages("b", String.class)).isEmpty();
    }

    @Test
    void aPartialBatchIsHandedOverAfterTheWait() throws Exception {
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        queues.processor("w", String.class).batchSize(100).batchWait(Duration.ofMillis(200))
                .batchHandler(batch -> sizes.add(batch.size())).start();
        sendAll("w", 3);
        assertThat(await(() -> sizes.stream().mapToInt(Integer::intValue).sum() == 3)).isTrue();
    }

    @Test
    void aSingleFailedMessageFollowsTheFailurePathAloneWithItsOwnHistoryAndTheOthersAreAcked() throws Exception {
        sendAll("f", 20);
        AtomicInteger calls = new AtomicInteger();
        List<Integer> badAttempts = new CopyOnWriteArrayList<>();
        queues.processor("f", String.class).batchSize(20).batchWait(Duration.ofSeconds(1))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(20)).maxAttempts(2))
                .batchHandler(batch -> {
                    calls.incrementAndGet();
                    for (Msg<String> m : batch.messages()) {
                        if (m.id().equals("id7")) {
                            badAttempts.add(m.attempt());
                            batch.fail(m, new IllegalStateException("row 7 rejected"));
                        }
                    }
                }).start();

        assertThat(await(() -> memory.messages("f_deadletter", String.class).size() == 1)).isTrue();
        Msg<String> dead = memory.messages("f_deadletter", String.class).get(0);
        assertThat(dead.id()).isEqualTo("id7");
        assertThat(dead.errors()).hasSize(2).allSatisfy(f -> assertThat(f.message()).isEqualTo("row 7 rejected"));
        assertThat(badAttempts).containsExactly(1, 2);
        assertThat(await(() -> memory.messages("f", String.class).isEmpty())).isTrue();
    }

    @Test
    void aThrowingHandlerRetriesTheWholeBatchThenEachMessageIsRedeliveredOnItsOwn() throws Exception {
        sendAll("t", 10);
        Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        queues.processor("t", String.class).batchSize(10).batchWait(Duration.ofSeconds(1))
                .retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(20)).maxAttempts(2))
                .batchHandler(batch -> {
                    sizes.add(batch.size());
                    for (Msg<String> m : batch.messages()) {
                        seen.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
                    }
                    boolean firstDelivery = batch.messages().stream().allMatch(m -> m.attempt() == 1);
                    if (firstDelivery) {
                        throw new IllegalStateException("database down");
                    }
                }).start();

        assertThat(await(() -> seen.size() == 10 && seen.values().stream().allMatch(c -> c.get() == 3)))
                .as("calls per message: %s", seen).isTrue();
        assertThat(sizes.get(0)).isEqualTo(10);
        assertThat(sizes.get(1)).as("the in-process retry is the whole batch").isEqualTo(10);
        assertThat(await(() -> memory.messages("t", String.class).isEmpty())).isTrue();
        assertThat(memory.messages("t_deadletter", String.class)).isEmpty();
    }

    @Test
    void aKeysMessagesStayInOrderAcrossLanes() throws Exception {
        Enqueue<String> out = queues.enqueue("o", String.class);
        for (int i = 0; i < 300; i++) {
            out.send(Msg.builder(Integer.toString(i)).key("k" + (i % 7)).build());
        }
        Map<String, List<Integer>> byKey = new ConcurrentHashMap<>();
        queues.processor("o", String.class).concurrency(3).batchSize(16).batchWait(Duration.ofMillis(20))
                .batchHandler(batch -> {
                    for (Msg<String> m : batch.messages()) {
                        byKey.computeIfAbsent(m.key(), k -> new CopyOnWriteArrayList<>()).add(Integer.parseInt(m.payload()));
                    }
                }).start();
        assertThat(await(() -> byKey.values().stream().mapToInt(List::size).sum() == 300)).isTrue();
        byKey.values().forEach(list -> assertThat(list).isSorted());
    }

    @Test
    void aBatchHoldsOneMessageOfAKeyWhenTheTransportHandsOutAKeysNextMessageOnlyAfterTheLastIsSettled() throws Exception {
        Enqueue<String> out = queues.enqueue("k", String.class);
        for (int i = 0; i < 6; i++) {
            out.send(Msg.builder("m" + i).key(i < 3 ? "a" : "b").build());
        }
        List<List<String>> batches = new CopyOnWriteArrayList<>();
        queues.processor("k", String.class).batchSize(10).batchWait(Duration.ofMillis(100))
                .batchHandler(batch -> batches.add(batch.payloads())).start();
        assertThat(await(() -> batches.stream().mapToInt(List::size).sum() == 6)).isTrue();
        // Never two of one key in a batch (a: m0-m2, b: m3-m5), and each key in order across batches.
        List<String> a = new ArrayList<>();
        List<String> b = new ArrayList<>();
        for (List<String> batch : batches) {
            assertThat(batch.stream().filter(p -> p.compareTo("m3") < 0).count()).as("key a in %s", batch).isLessThanOrEqualTo(1);
            assertThat(batch.stream().filter(p -> p.compareTo("m3") >= 0).count()).as("key b in %s", batch).isLessThanOrEqualTo(1);
            batch.forEach(p -> (p.compareTo("m3") < 0 ? a : b).add(p));
        }
        assertThat(a).containsExactly("m0", "m1", "m2");
        assertThat(b).containsExactly("m3", "m4", "m5");
        assertThat(batches.get(0)).as("the first batch holds both keys' first messages").containsExactly("m0", "m3");
    }

    @Test
    void interceptorsSeeEachMessageOfABatchAndItsOwnOutcome() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        Interceptor recording = new Interceptor() {
            @Override
            public Handling onHandle(Msg<?> msg, String group) {
                seen.add("handle " + msg.id());
                return new Handling() {
                    @Override
                    public void completed(Outcome outcome, Throwable failure) {
                        seen.add(msg.id() + " " + outcome + (failure == null ? "" : " " + failure.getMessage()));
                    }
                };
            }
        };
        try (Queues watched = Queues.builder(memory).interceptor(recording).build()) {
            Enqueue<String> out = watched.enqueue("i", String.class);
            for (int i = 0; i < 3; i++) {
                out.send(Msg.builder("m" + i).id("id" + i).build());
            }
            watched.processor("i", String.class).batchSize(3).batchWait(Duration.ofSeconds(1)).redelivery(RetryPolicy.none())
                    .batchHandler(batch -> batch.fail(batch.messages().get(1), new IllegalStateException("bad row"))).start();

            assertThat(await(() -> seen.size() == 6)).as("seen %s", seen).isTrue();
            assertThat(seen).containsExactlyInAnyOrder("handle id0", "handle id1", "handle id2",
                    "id0 SUCCEEDED", "id1 DEAD_LETTERED bad row", "id2 SUCCEEDED");
        }
    }

    @Test
    void aProcessorHasOneKindOfHandler() {
        assertThatThrownBy(() -> queues.processor("x", String.class).handler(p -> { }).batchHandler(b -> { }).start())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("choose one");
        assertThatThrownBy(() -> queues.processor("x", String.class).batchSize(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("batchSize must be >= 1, was 0");
        assertThatThrownBy(() -> new Batch<>(new ArrayList<>(List.of(Msg.of("a")))).fail(Msg.of("b"), new RuntimeException()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
