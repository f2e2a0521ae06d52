package io.resq.micrometer;

import static io.resq.testkit.Await.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.resq.Enqueue;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.SendException;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The exact meters {@link ResqMetrics} makes for each path a message can take, on the in-memory transport. */
@Timeout(60)
class ResqMetricsTest {

    private final MeterRegistry registry = new SimpleMeterRegistry();
    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.builder(transport).interceptor(ResqMetrics.of(registry)).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private double count(String name, String... tags) {
        Meter m = registry.find(name).tags(tags).meter();
        assertThat(m).as(name + " " + List.of(tags)).isNotNull();
        return m.measure().iterator().next().getValue();
    }

    private long timerCount(String name, String... tags) {
        return registry.get(name).tags(tags).timer().count();
    }

    private Set<String> meterIds() {
        Set<String> ids = new TreeSet<>();
        registry.getMeters().forEach(m -> ids.add(m.getId().getName() + m.getId().getTags()));
        return ids;
    }

    @Test
    void aMessageHandledAtOnceIsReceivedSucceededAndTimed() throws Exception {
        queues.processor("orders", String.class).group("billing").handler(s -> { }).start();
        queues.enqueue("orders", String.class).send("a");

        waitFor("succeeded", () -> registry.find(ResqMetrics.SUCCEEDED).counter() != null
                && registry.get(ResqMetrics.SUCCEEDED).counter().count() == 1);
        String[] t = {"queue", "orders", "group", "billing"};
        assertThat(count(ResqMetrics.RECEIVED, t)).isEqualTo(1);
        assertThat(count(ResqMetrics.SUCCEEDED, t)).isEqualTo(1);
        assertThat(count(ResqMetrics.RETRIED, t)).isZero();
        assertThat(count(ResqMetrics.REDELIVERED, t)).isZero();
        assertThat(count(ResqMetrics.DEAD_LETTERED, t)).isZero();
        assertThat(count(ResqMetrics.RELEASED, t)).isZero();
        assertThat(timerCount(ResqMetrics.HANDLER_DURATION, "queue", "orders", "group", "billing", "outcome", "success")).isEqualTo(1);
        assertThat(timerCount(ResqMetrics.HANDLER_DURATION, "queue", "orders", "group", "billing", "outcome", "failure")).isZero();
        assertThat(timerCount(ResqMetrics.SEND_DURATION, "queue", "orders", "outcome", "success")).isEqualTo(1);
        assertThat(timerCount(ResqMetrics.SEND_DURATION, "queue", "orders", "outcome", "failure")).isZero();
        assertThat(count(ResqMetrics.SENDS_FAILED, "queue", "orders")).isZero();
        waitFor("nothing in flight", () -> registry.get(ResqMetrics.IN_FLIGHT).tags(t).gauge().value() == 0);
        assertThat(count(ResqMetrics.CIRCUIT_STATE, "queue", "orders", "group", "billing", "state", "disabled")).isEqualTo(1);
        assertThat(count(ResqMetrics.CIRCUIT_STATE, "queue", "orders", "group", "billing", "state", "closed")).isZero();

        assertThat(meterIds()).containsExactly(
                "resq.handler.duration[tag(group=billing), tag(outcome=failure), tag(queue=orders)]",
                "resq.handler.duration[tag(group=billing), tag(outcome=success), tag(queue=orders)]",
                "resq.messages.dead.lettered[tag(group=billing), tag(queue=orders)]",
                "resq.messages.received[tag(group=billing), tag(queue=orders)]",
                "resq.messages.redelivered[tag(group=billing), tag(queue=orders)]",
                "resq.messages.released[tag(group=billing), tag(queue=orders)]",
                "resq.messages.retried[tag(group=billing), tag(queue=orders)]",
                "resq.messages.succeeded[tag(group=billing), tag(queue=orders)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=closed)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=disabled)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=forced_open)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=half_open)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=metrics_only)]",
                "resq.processor.circuit.state[tag(group=billing), tag(queue=orders), tag(state=open)]",
                "resq.processor.in.flight[tag(group=billing), tag(queue=orders)]",
                "resq.send.duration[tag(outcome=failure), tag(queue=orders)]",
                "resq.send.duration[tag(outcome=success), tag(queue=orders)]",
                "resq.sends.failed[tag(queue=orders)]");
    }

    @Test
    void retriesAndARedeliveryAreCountedPerCall() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .circuitBreaker(CircuitBreakerConfig.ofDefaults())
                .handler(s -> {
                    if (calls.incrementAndGet() <= 3) {
                        throw new IllegalStateException("not yet");
                    }
                }).start();
        queues.enqueue("orders", String.class).send("a");

        String[] t = {"queue", "orders", "group", ResqMetrics.NO_GROUP};
        waitFor("succeeded", () -> registry.find(ResqMetrics.SUCCEEDED).tags(t).counter() != null
                && registry.get(ResqMetrics.SUCCEEDED).tags(t).counter().count() == 1);
        assertThat(count(ResqMetrics.RECEIVED, t)).isEqualTo(2);
        assertThat(count(ResqMetrics.RETRIED, t)).isEqualTo(2);
        assertThat(count(ResqMetrics.REDELIVERED, t)).isEqualTo(1);
        assertThat(count(ResqMetrics.DEAD_LETTERED, t)).isZero();
        assertThat(timerCount(ResqMetrics.HANDLER_DURATION, "queue", "orders", "group", "none", "outcome", "failure")).isEqualTo(3);
        assertThat(timerCount(ResqMetrics.HANDLER_DURATION, "queue", "orders", "group", "none", "outcome", "success")).isEqualTo(1);
        assertThat(count(ResqMetrics.CIRCUIT_STATE, "queue", "orders", "group", "none", "state", "closed")).isEqualTo(1);
        assertThat(count(ResqMetrics.CIRCUIT_STATE, "queue", "orders", "group", "none", "state", "disabled")).isZero();
    }

    @Test
    void aDeadLetterIsCounted() throws Exception {
        queues.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalArgumentException("bad order");
                }).start();
        queues.enqueue("orders", String.class).send("a");

        String[] t = {"queue", "orders", "group", "none"};
        waitFor("dead-lettered", () -> registry.find(ResqMetrics.DEAD_LETTERED).tags(t).counter() != null
                && registry.get(ResqMetrics.DEAD_LETTERED).tags(t).counter().count() == 1);
        assertThat(count(ResqMetrics.RECEIVED, t)).isEqualTo(1);
        assertThat(count(ResqMetrics.SUCCEEDED, t)).isZero();
        assertThat(count(ResqMetrics.RETRIED, t)).isZero();
        assertThat(timerCount(ResqMetrics.HANDLER_DURATION, "queue", "orders", "group", "none", "outcome", "failure")).isEqualTo(1);
        assertThat(transport.messages("orders_deadletter", String.class)).hasSize(1);
    }

    @Test
    void aFailedSendIsTimedAndCountedOnBothSendPaths() throws Exception {
        Queues quick = Queues.builder(transport).interceptor(ResqMetrics.of(registry))
                .sendRetry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2)).build();
        try {
            transport.failSends("orders", new IllegalStateException("broker down"));
            Enqueue<String> out = quick.enqueue("orders", String.class);
            assertThatThrownBy(() -> out.send("a")).isInstanceOf(SendException.class);
            out.messages().put("b");
            waitFor("channel send failed", () -> out.deadLetters().size() == 1);

            assertThat(count(ResqMetrics.SENDS_FAILED, "queue", "orders")).isEqualTo(2);
            assertThat(timerCount(ResqMetrics.SEND_DURATION, "queue", "orders", "outcome", "failure")).isEqualTo(2);
            assertThat(timerCount(ResqMetrics.SEND_DURATION, "queue", "orders", "outcome", "success")).isZero();

            transport.healSends("orders");
            out.send("c");
            assertThat(timerCount(ResqMetrics.SEND_DURATION, "queue", "orders", "outcome", "success")).isEqualTo(1);
        } finally {
            quick.close();
        }
    }

    @Test
    void gaugesFollowProcessorsStartedLaterAndDropClosedOnes() throws Exception {
        var first = queues.processor("orders", String.class).handler(s -> { }).start();
        String[] t = {"queue", "orders", "group", "none", "state", "disabled"};
        assertThat(count(ResqMetrics.CIRCUIT_STATE, t)).isEqualTo(1);
        var second = queues.processor("orders", String.class).handler(s -> { }).start();
        assertThat(count(ResqMetrics.CIRCUIT_STATE, t)).isEqualTo(2);
        first.close();
        assertThat(count(ResqMetrics.CIRCUIT_STATE, t)).isEqualTo(1);
        second.close();
        assertThat(count(ResqMetrics.CIRCUIT_STATE, t)).isZero();
        queues.processor("invoices", String.class).group("g").handler(s -> { }).start();
        assertThat(count(ResqMetrics.CIRCUIT_STATE, "queue", "invoices", "group", "g", "state", "disabled")).isEqualTo(1);
    }

    @Test
    void percentilesAreOffByDefaultAndOnWhenAsked() throws Exception {
        MeterRegistry other = new SimpleMeterRegistry();
        try (Queues q = Queues.builder(InMemoryTransport.create()).interceptor(ResqMetrics.builder(other).publishPercentiles(0.5, 0.99).build()).build()) {
            q.enqueue("orders", String.class).send("a");
            assertThat(other.get(ResqMetrics.SEND_DURATION).tags("outcome", "success").timer().takeSnapshot().percentileValues()).hasSize(2);
        }
        queues.enqueue("orders", String.class).send("a");
        assertThat(registry.get(ResqMetrics.SEND_DURATION).tags("outcome", "success").timer().takeSnapshot().percentileValues()).isEmpty();
        assertThatThrownBy(() -> ResqMetrics.builder(other).publishPercentiles(1.5))
                .hasMessage("percentiles must be in [0, 1], was 1.5");
    }
}
