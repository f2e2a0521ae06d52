package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Dequeue;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.Undelivered;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Faults on a real broker while 10,000 messages flow through a processor: the broker is stopped
 * and restarted (its messages on disk), and, separately, a consumer is killed holding messages it
 * never acked. Afterwards every message was handled at least once or sits in the dead-letter
 * queue; the tests print how many were handled twice.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SqsFaultTest {

    private static final int N = 10_000;

    @TempDir
    Path dataDir;

    private static boolean await(BooleanSupplier condition, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    /** Sends payloads p-from .. p-(to-1) through the best-effort channel, re-sending whatever it gave up on. */
    private static void send(Enqueue<String> out, int from, int to) throws InterruptedException {
        for (int i = from; i < to; i++) {
            out.messages().put("p-" + i);
        }
    }

    private static void resendUndelivered(Enqueue<String> out, AtomicInteger resent) throws InterruptedException {
        Undelivered<String> u;
        while ((u = out.deadLetters().poll()) != null) {
            out.messages().put(u.message().payload());
            resent.incrementAndGet();
        }
    }

    private static Set<String> drainDeadLetters(Queues queues, String dlq) throws InterruptedException {
        Set<String> dead = new HashSet<>();
        try (Dequeue<String> in = queues.dequeue(dlq, String.class, "fault-dlq")) {
            Msg<String> m;
            while ((m = in.messages().poll(3, TimeUnit.SECONDS)) != null) {
                dead.add(m.payload());
                in.ack(m);
            }
        }
        return dead;
    }

    private static void report(String scenario, Map<String, Integer> handled, Set<String> dead, int resent) {
        long twice = handled.values().stream().filter(c -> c > 1).count();
        long extra = handled.values().stream().mapToLong(c -> c - 1).sum();
        System.out.printf("[sqs fault] %s: %d messages, %d handled, %d dead-lettered, %d handled more than once "
                + "(%d extra deliveries), %d re-sent by the producer after a failed send%n",
                scenario, N, handled.size(), dead.size(), twice, extra, resent);
    }

    private static void assertNoneLost(Map<String, Integer> handled, Set<String> dead) {
        Set<String> missing = new HashSet<>();
        for (int i = 0; i < N; i++) {
            String p = "p-" + i;
            if (!handled.containsKey(p) && !dead.contains(p)) {
                missing.add(p);
            }
        }
        assertThat(missing).as("messages neither handled nor dead-lettered").isEmpty();
    }

    @Test
    void brokerRestartMidStreamLosesNothing() throws Exception {
        String queue = "fault_restart_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Integer> handled = new ConcurrentHashMap<>();
        AtomicInteger resent = new AtomicInteger();
        try (RestartableElasticMq broker = new RestartableElasticMq(dataDir)) {
            broker.start();
            try (SqsClient client = ElasticMq.client(broker.endpoint());
                 Queues queues = Queues.using(SqsTransport.builder(client).visibilityTimeout(Duration.ofSeconds(10)).build())) {
                Enqueue<String> out = queues.enqueue(queue, String.class);
                Processor<String> p = queues.processor(queue, String.class)
                        .concurrency(8)
                        .retry(RetryPolicy.none())
                        .redelivery(RetryPolicy.fixed(Duration.ofSeconds(1)).maxAttempts(3))
                        .handler(s -> handled.merge(s, 1, Integer::sum))
                        .start();
                send(out, 0, N / 2);
                assertThat(await(() -> handled.size() >= N / 5, Duration.ofSeconds(120))).as("first fifth handled").isTrue();

                broker.stop();
                Thread.sleep(2000); // the processor and producer run into a dead endpoint meanwhile
                send(out, N / 2, N);
                Thread.sleep(1000);
                broker.start();

                assertThat(await(() -> {
                    try {
                        resendUndelivered(out, resent);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return handled.size() >= N;
                }, Duration.ofSeconds(150))).as("handled %s of %s after the restart", handled.size(), N).isTrue();
                p.close();
                Set<String> dead = drainDeadLetters(queues, queue + "_deadletter");
                report("broker restart", handled, dead, resent.get());
                assertNoneLost(handled, dead);
            }
        }
    }

    @Test
    void consumerKilledWithoutAckingLosesNothing() throws Exception {
        String queue = "fault_kill_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Integer> handled = new ConcurrentHashMap<>();
        Set<String> ids = ConcurrentHashMap.newKeySet();
        AtomicInteger resent = new AtomicInteger();
        try (SqsClient client = ElasticMq.client(); Queues queues = Queues.using(SqsTransport.create(client))) {
            Enqueue<String> out = queues.enqueue(queue, String.class);
            send(out, 0, N);
            // A second consumer takes 40 messages and dies (SIGKILL) before acking any of them.
            HoldingConsumer.Child child = HoldingConsumer.Child.start(ElasticMq.endpoint(), queue, 3, 40);
            Processor<String> p = queues.processor(queue, String.class)
                    .concurrency(8)
                    .msgHandler(m -> {
                        ids.add(m.id());
                        handled.merge(m.payload(), 1, Integer::sum);
                    })
                    .start();
            assertThat(await(() -> handled.size() >= N / 10, Duration.ofSeconds(60))).isTrue();
            child.kill();
            assertThat(child.held).hasSize(40);

            assertThat(await(() -> handled.size() >= N, Duration.ofSeconds(150)))
                    .as("handled %s of %s after the consumer died", handled.size(), N).isTrue();
            assertThat(ids).as("the messages the killed consumer held came back and were handled").containsAll(child.held);
            p.close();
            Set<String> dead = drainDeadLetters(queues, queue + "_deadletter");
            report("consumer killed holding " + child.held.size() + " messages", handled, dead, resent.get());
            assertNoneLost(handled, dead);
            assertThat(out.deadLetters()).isEmpty();
        }
    }
}
