package io.resq.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.spi.Capability;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The compliance suite every transport passes. A transport module extends it with a class that
 * supplies {@link #createTransport()} against a real broker; every test here then runs against it.
 *
 * <p>Capability-dependent tests never skip: with the capability they assert the capability's
 * behaviour, without it they assert the documented fallback (for example, without
 * {@link Capability#CONSUMER_GROUPS} two groups compete for the same messages instead of each
 * getting all of them).
 *
 * <p>Every test uses fresh queue names from {@link #queueName(String)}, so a shared broker needs
 * no cleaning between tests.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class TransportContract {

    /** How many messages the volume tests move. */
    protected static final int MANY = 1000;

    /** The transport under test, created before each test and closed after it. */
    protected Transport transport;

    private final List<Receiver> receivers = Collections.synchronizedList(new ArrayList<>());

    /** A new transport connected to the test broker. Called before each test. */
    protected abstract Transport createTransport() throws Exception;

    /**
     * Upper bound on how long a sent message may take to arrive. Generous by default, because a
     * test broker on a loaded machine can be slow.
     */
    protected Duration receiveTimeout() {
        return Duration.ofSeconds(30);
    }

    /**
     * How long to watch a queue to conclude that nothing more arrives. Transports whose release or
     * rebalance is slower may raise it.
     */
    protected Duration quietPeriod() {
        return Duration.ofSeconds(2);
    }

    /**
     * The delay used by the delayed-delivery test. At least one second, because some brokers
     * (SQS) count delays in whole seconds.
     */
    protected Duration testDelay() {
        return Duration.ofSeconds(2);
    }

    /** The size of the "large body" test; 1 MiB unless the broker's limit is smaller. */
    protected int largeBodySize() {
        return Math.min(1 << 20, transport.maxBodySize());
    }

    /** A queue name unique to this test run, made of letters, digits and underscores. */
    protected String queueName(String base) {
        return "contract_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    @BeforeEach
    void openTransport() throws Exception {
        transport = createTransport();
    }

    @AfterEach
    void closeTransport() {
        synchronized (receivers) {
            receivers.forEach(Receiver::close);
            receivers.clear();
        }
        if (transport != null) {
            transport.close();
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A receiver that is closed after the test. */
    protected Receiver receiver(String queue, String group) {
        Receiver r = transport.receiver(queue, new ReceiverOptions(group, 64));
        receivers.add(r);
        return r;
    }

    /** Sends the messages and waits for the broker's confirmation. */
    protected static void sendAll(Sender sender, List<Outbound> messages) throws Exception {
        for (int i = 0; i < messages.size(); i += 100) {
            sender.send(messages.subList(i, Math.min(messages.size(), i + 100))).get(60, TimeUnit.SECONDS);
        }
    }

    /** {@code n} messages with ids {@code prefix-0 .. prefix-(n-1)} and the id as body. */
    protected static List<Outbound> messages(String prefix, int n) {
        List<Outbound> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = prefix + "-" + i;
            out.add(Outbound.of(id, id.getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    /** Polls until {@code count} deliveries arrived or the receive timeout passed; acks each if asked. */
    protected List<Delivery> receive(Receiver receiver, int count, boolean ack) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + receiveTimeout().toNanos();
        while (got.size() < count && System.nanoTime() < deadline) {
            for (Delivery d : receiver.poll(count - got.size(), Duration.ofMillis(200))) {
                got.add(d);
                if (ack) {
                    d.ack();
                }
            }
        }
        return got;
    }

    /** Polls for the quiet period and returns whatever arrived (acking it). */
    protected List<Delivery> drainQuietly(Receiver receiver) throws InterruptedException {
        List<Delivery> got = new ArrayList<>();
        long deadline = System.nanoTime() + quietPeriod().toNanos();
        while (System.nanoTime() < deadline) {
            for (Delivery d : receiver.poll(100, Duration.ofMillis(200))) {
                got.add(d);
                d.ack();
            }
        }
        return got;
    }

    private static Set<String> ids(List<Delivery> deliveries) {
        Set<String> ids = new HashSet<>();
        deliveries.forEach(d -> ids.add(d.id()));
        return ids;
    }

    private static Set<String> ids(List<Outbound> messages, int from, int to) {
        Set<String> ids = new HashSet<>();
        messages.subList(from, to).forEach(m -> ids.add(m.id()));
        return ids;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void healthIsUp() {
        assertThat(transport.health().isUp()).as("health of a connected transport: %s", transport.health()).isTrue();
    }

    @Test
    void publishAndConsumeMany() throws Exception {
        String queue = queueName("many");
        Receiver receiver = receiver(queue, "g");
        List<Outbound> sent = messages("m", MANY);
        sendAll(transport.sender(queue), sent);

        List<Delivery> got = receive(receiver, MANY, true);

        assertThat(ids(got)).containsExactlyInAnyOrderElementsOf(ids(sent, 0, MANY));
        for (Delivery d : got) {
            assertThat(new String(d.body(), StandardCharsets.UTF_8)).isEqualTo(d.id());
            assertThat(d.deliveryCount()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void keyAndHeadersSurviveTheTrip() throws Exception {
        String queue = queueName("headers");
        Receiver receiver = receiver(queue, "g");
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("resq-id", "id-1");
        headers.put("trace", "abc-123");
        headers.put("unicode", "zürich ✓");
        transport.sender(queue).send(new Outbound("id-1", "customer-7", headers, "{}".getBytes(StandardCharsets.UTF_8), Duration.ZERO))
                .get(30, TimeUnit.SECONDS);

        Delivery d = receive(receiver, 1, true).get(0);

        assertThat(d.id()).isEqualTo("id-1");
        assertThat(d.key()).isEqualTo("customer-7");
        assertThat(d.headers()).containsAllEntriesOf(headers);
        assertThat(d.deliveryCount()).isEqualTo(1);
    }

    @Test
    void concurrentProducersAndConsumers() throws Exception {
        String queue = queueName("concurrent");
        int producers = 4;
        int consumers = 3;
        int perProducer = MANY / producers;
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(producers + consumers);
        try {
            List<Future<?>> consumerTasks = new ArrayList<>();
            for (int c = 0; c < consumers; c++) {
                Receiver r = receiver(queue, "g");
                consumerTasks.add(pool.submit(() -> {
                    while (!done.get()) {
                        for (Delivery d : r.poll(50, Duration.ofMillis(200))) {
                            seen.add(d.id());
                            d.ack();
                        }
                    }
                    return null;
                }));
            }
            List<Future<?>> producerTasks = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                String prefix = "p" + p;
                producerTasks.add(pool.submit(() -> {
                    sendAll(transport.sender(queue), messages(prefix, perProducer));
                    return null;
                }));
            }
            for (Future<?> f : producerTasks) {
                f.get(60, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + receiveTimeout().toNanos();
            while (seen.size() < producers * perProducer && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            done.set(true);
            for (Future<?> f : consumerTasks) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            done.set(true);
            pool.shutdownNow();
        }
        Set<String> expected = new HashSet<>();
        for (int p = 0; p < producers; p++) {
            expected.addAll(ids(messages("p" + p, perProducer), 0, perProducer));
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void ackedMessageDoesNotComeBack() throws Exception {
        String queue = queueName("ack");
        Receiver receiver = receiver(queue, "g");
        transport.sender(queue).send(Outbound.of("only", new byte[] {1})).get(30, TimeUnit.SECONDS);

        assertThat(receive(receiver, 1, true)).hasSize(1);
        assertThat(drainQuietly(receiver)).as("an acked message was delivered again").isEmpty();

        receiver.close();
        Receiver next = receiver(queue, "g");
        assertThat(drainQuietly(next)).as("an acked message was delivered to a new receiver").isEmpty();
    }

    @Test
    void releasedMessageComesBack() throws Exception {
        String queue = queueName("release");
        Receiver receiver = receiver(queue, "g");
        transport.sender(queue).send(Outbound.of("again", "x".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);

        Delivery first = receive(receiver, 1, false).get(0);
        assertThat(first.deliveryCount()).isEqualTo(1);
        first.release();

        List<Delivery> second = receive(receiver, 1, true);
        assertThat(second).as("a released message was not delivered again").hasSize(1);
        assertThat(second.get(0).id()).isEqualTo("again");
        assertThat(second.get(0).body()).isEqualTo("x".getBytes(StandardCharsets.UTF_8));
        assertThat(second.get(0).deliveryCount()).isEqualTo(2);
        assertThat(drainQuietly(receiver)).isEmpty();
    }

    @Test
    void delayedMessageIsNotDeliveredBeforeItsTime() throws Exception {
        String queue = queueName("delay");
        Receiver receiver = receiver(queue, "g");
        Duration delay = testDelay();
        long sentAt = System.nanoTime();
        transport.sender(queue)
                .send(new Outbound("later", null, Map.of(), new byte[] {7}, delay))
                .get(30, TimeUnit.SECONDS);
        transport.sender(queue).send(Outbound.of("now", new byte[] {8})).get(30, TimeUnit.SECONDS);

        List<Delivery> got = new ArrayList<>();
        long laterArrivedAt = 0;
        long deadline = System.nanoTime() + receiveTimeout().toNanos() + delay.toNanos();
        while (got.size() < 2 && System.nanoTime() < deadline) {
            for (Delivery d : receiver.poll(2, Duration.ofMillis(100))) {
                got.add(d);
                d.ack();
                if (d.id().equals("later")) {
                    laterArrivedAt = System.nanoTime();
                }
            }
        }

        assertThat(got).extracting(Delivery::id).containsExactly("now", "later");
        assertThat(Duration.ofNanos(laterArrivedAt - sentAt))
                .as("delayed message arrived too early")
                .isGreaterThanOrEqualTo(delay.minusMillis(50));
    }

    @Test
    void perKeyOrder() throws Exception {
        String queue = queueName("order");
        int keys = 5;
        int perKey = 40;
        List<Outbound> sent = new ArrayList<>();
        for (int i = 0; i < perKey; i++) {
            for (int k = 0; k < keys; k++) {
                String id = "k" + k + "-" + i;
                sent.add(new Outbound(id, "k" + k, Map.of("seq", Integer.toString(i)), id.getBytes(StandardCharsets.UTF_8), Duration.ZERO));
            }
        }
        Receiver a = receiver(queue, "g");
        Receiver b = receiver(queue, "g");
        sendAll(transport.sender(queue), sent);

        // First sightings in the order the consumers saw them; an ack always follows the sighting.
        List<Delivery> firstSightings = Collections.synchronizedList(new ArrayList<>());
        Set<String> seen = ConcurrentHashMap.newKeySet();
        long deadline = System.nanoTime() + receiveTimeout().toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> tasks = new ArrayList<>();
            for (Receiver r : List.of(a, b)) {
                tasks.add(pool.submit(() -> {
                    while (seen.size() < sent.size() && System.nanoTime() < deadline) {
                        for (Delivery d : r.poll(20, Duration.ofMillis(100))) {
                            synchronized (firstSightings) {
                                if (seen.add(d.id())) {
                                    firstSightings.add(d);
                                }
                            }
                            d.ack();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> t : tasks) {
                t.get(receiveTimeout().toSeconds() + 10, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(seen).hasSize(sent.size());
        if (transport.capabilities().contains(Capability.ORDERED_BY_KEY)) {
            Map<String, List<Integer>> byKey = new LinkedHashMap<>();
            for (Delivery d : firstSightings) {
                assertThat(d.key()).as("key of %s", d.id()).isNotNull();
                byKey.computeIfAbsent(d.key(), k -> new ArrayList<>()).add(Integer.parseInt(d.headers().get("seq")));
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < perKey; i++) {
                expected.add(i);
            }
            assertThat(byKey).hasSize(keys);
            byKey.forEach((key, seqs) -> assertThat(seqs).as("order of key %s", key).isEqualTo(expected));
        }
    }

    @Test
    void consumerGroups() throws Exception {
        String queue = queueName("groups");
        int n = 50;
        Receiver g1 = receiver(queue, "g1");
        Receiver g2 = receiver(queue, "g2");
        List<Outbound> sent = messages("m", n);
        sendAll(transport.sender(queue), sent);

        Set<String> got1 = ConcurrentHashMap.newKeySet();
        Set<String> got2 = ConcurrentHashMap.newKeySet();
        boolean groups = transport.capabilities().contains(Capability.CONSUMER_GROUPS);
        long deadline = System.nanoTime() + receiveTimeout().toNanos();
        while (System.nanoTime() < deadline
                && (groups ? got1.size() < n || got2.size() < n : got1.size() + got2.size() < n)) {
            g1.poll(n, Duration.ofMillis(100)).forEach(d -> { got1.add(d.id()); d.ack(); });
            g2.poll(n, Duration.ofMillis(100)).forEach(d -> { got2.add(d.id()); d.ack(); });
        }

        if (groups) {
            assertThat(got1).as("group g1 gets every message").containsExactlyInAnyOrderElementsOf(ids(sent, 0, n));
            assertThat(got2).as("group g2 gets every message").containsExactlyInAnyOrderElementsOf(ids(sent, 0, n));
        } else {
            // Without consumer groups the group is a no-op: the two receivers compete.
            Set<String> union = new HashSet<>(got1);
            union.addAll(got2);
            assertThat(union).containsExactlyInAnyOrderElementsOf(ids(sent, 0, n));
            Set<String> both = new HashSet<>(got1);
            both.retainAll(got2);
            assertThat(both).as("without CONSUMER_GROUPS a message goes to one receiver").isEmpty();
        }
    }

    @Test
    void closeMidStreamThenNewReceiverGetsEverythingUnacked() throws Exception {
        String queue = queueName("close");
        int n = 100;
        List<Outbound> sent = messages("m", n);
        Receiver first = receiver(queue, "g");
        sendAll(transport.sender(queue), sent);

        List<Delivery> taken = receive(first, 30, false);
        assertThat(taken).hasSize(30);
        Set<String> acked = new HashSet<>();
        for (Delivery d : taken.subList(0, 10)) {
            d.ack();
            acked.add(d.id());
        }
        first.close();

        Receiver second = receiver(queue, "g");
        Set<String> rest = new HashSet<>();
        long deadline = System.nanoTime() + receiveTimeout().toNanos();
        while (rest.size() < n - acked.size() && System.nanoTime() < deadline) {
            for (Delivery d : second.poll(n, Duration.ofMillis(200))) {
                rest.add(d.id());
                d.ack();
            }
        }

        Set<String> expected = ids(sent, 0, n);
        expected.removeAll(acked);
        assertThat(rest).as("everything not acked before close").containsAll(expected);
    }

    @Test
    void pausedReceiverFetchesNothingUntilResumed() throws Exception {
        String queue = queueName("pause");
        Receiver receiver = receiver(queue, "g");
        // Make sure the receiver is attached before pausing, as a processor's receiver would be.
        transport.sender(queue).send(Outbound.of("warm", new byte[] {0})).get(30, TimeUnit.SECONDS);
        assertThat(receive(receiver, 1, true)).hasSize(1);

        receiver.pause();
        sendAll(transport.sender(queue), messages("m", 10));
        List<Delivery> whilePaused = new ArrayList<>();
        long until = System.nanoTime() + quietPeriod().toNanos();
        while (System.nanoTime() < until) {
            whilePaused.addAll(receiver.poll(10, Duration.ofMillis(200)));
        }
        assertThat(whilePaused).as("deliveries while paused").isEmpty();

        receiver.resume();
        assertThat(ids(receive(receiver, 10, true))).containsExactlyInAnyOrderElementsOf(ids(messages("m", 10), 0, 10));
    }

    @Test
    void largeAndEmptyBodies() throws Exception {
        String queue = queueName("bodies");
        Receiver receiver = receiver(queue, "g");
        byte[] large = new byte[largeBodySize() - 1024];
        ThreadLocalRandom.current().nextBytes(large);
        transport.sender(queue).send(Outbound.of("large", large)).get(60, TimeUnit.SECONDS);
        transport.sender(queue).send(Outbound.of("empty", new byte[0])).get(30, TimeUnit.SECONDS);

        Map<String, byte[]> got = new LinkedHashMap<>();
        receive(receiver, 2, true).forEach(d -> got.put(d.id(), d.body()));

        assertThat(got).containsOnlyKeys("large", "empty");
        assertThat(Arrays.equals(got.get("large"), large)).as("large body unchanged").isTrue();
        assertThat(got.get("empty")).isEmpty();
    }

    @Test
    void bodyOverTheLimitIsRefusedWithAClearError() {
        String queue = queueName("toolarge");
        int limit = transport.maxBodySize();
        assertThat(limit)
                .as("a transport declares its broker's body limit (maxBodySize) so oversized sends fail before the wire")
                .isLessThan(Integer.MAX_VALUE);
        byte[] tooLarge = new byte[limit + 1];

        assertThatThrownBy(() -> transport.sender(queue).send(Outbound.of("big", tooLarge)).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Integer.toString(limit));
    }

    @Test
    void malformedBodySurfacesAsADelivery() throws Exception {
        String queue = queueName("malformed");
        Receiver receiver = receiver(queue, "g");
        byte[] garbage = {(byte) 0xff, (byte) 0xfe, '{', 0, '"', (byte) 0x80};
        transport.sender(queue).send(Outbound.of("garbage", garbage)).get(30, TimeUnit.SECONDS);
        transport.sender(queue).send(Outbound.of("after", "{}".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);

        List<Delivery> got = receive(receiver, 2, true);

        assertThat(got).extracting(Delivery::id).containsExactlyInAnyOrder("garbage", "after");
        assertThat(got.stream().filter(d -> d.id().equals("garbage")).findFirst().orElseThrow().body()).isEqualTo(garbage);
    }

    @Test
    void sendsAfterCloseFailClearly() {
        String queue = queueName("closed");
        Sender sender = transport.sender(queue);
        transport.close();

        assertThatThrownBy(() -> sender.send(Outbound.of("x", new byte[] {1})).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThat(transport.health().isUp()).isFalse();
    }
}
