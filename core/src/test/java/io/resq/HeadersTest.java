package io.resq;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Headers a sender sets reach the handler and travel unchanged with every copy of the message. */
@Timeout(30)
class HeadersTest {

    private static final String TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private final InMemoryTransport memory = InMemoryTransport.create();
    private Queues queues;

    @AfterEach
    void close() {
        if (queues != null) {
            queues.close();
        }
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Waits.until(Duration.ofSeconds(10), c);
    }

    @ParameterizedTest
    @EnumSource(EnvelopeMode.class)
    void headersReachTheHandlerOnEveryDeliveryAndTheDeadLetterQueue(EnvelopeMode mode) throws Exception {
        queues = Queues.builder(memory).envelopeMode(mode).build();
        List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
        queues.processor("h", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2)).msgHandler(m -> {
            seen.add(m.headers());
            throw new IllegalStateException("fails every time");
        }).start();
        queues.enqueue("h", String.class).send(Msg.builder("p").header("traceparent", TRACE).header("x-tenant", "eu-1").build());

        assertThat(await(() -> memory.messages("h_deadletter", String.class).size() == 1))
                .as("seen %s, dead letters %s, in queue %s", seen, memory.bodies("h_deadletter").size(), memory.bodies("h").size()).isTrue();
        Map<String, String> sent = Map.of("traceparent", TRACE, "x-tenant", "eu-1");
        assertThat(seen).hasSize(2).allSatisfy(h -> assertThat(h).isEqualTo(sent));
        Msg<String> dead = memory.messages("h_deadletter", String.class).get(0);
        assertThat(dead.headers()).isEqualTo(sent);
        assertThat(dead.errors()).hasSize(2);

        // Redriven back, the headers are still there.
        seen.clear();
        queues.redrive("h_deadletter", "h");
        assertThat(await(() -> seen.size() == 2)).isTrue();
        assertThat(seen).allSatisfy(h -> assertThat(h).isEqualTo(sent));
    }

    @Test
    void resqsOwnHeadersAreNotShownAndCannotBeSet() throws Exception {
        queues = Queues.using(memory);
        assertThatThrownBy(() -> Msg.builder("p").header("resq-attempt", "9")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("resq-attempt").hasMessageContaining("resq keeps");
        assertThatThrownBy(() -> Msg.builder("p").header("RESQ-x", "9")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Msg.builder("p").header(" ", "9")).isInstanceOf(IllegalArgumentException.class);

        queues.enqueue("own", String.class).send(Msg.builder("p").header("a", "1").build());
        Dequeue<String> in = queues.dequeue("own", String.class);
        Msg<String> got = in.messages().take();
        assertThat(got.headers()).containsOnlyKeys("a");
        assertThatThrownBy(() -> got.headers().put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aForeignProducersHeadersAreShownAndKeptWithAnUndecodableBody() throws Exception {
        queues = Queues.using(memory);
        memory.sender("raw").send(List.of(new Outbound("f-1", null, Map.of("traceparent", TRACE), "not json".getBytes(UTF_8),
                Duration.ZERO))).get();
        queues.processor("raw", Order.class).handler(o -> { }).start();

        assertThat(await(() -> memory.messages("raw_deadletter", byte[].class).size() == 1)).isTrue();
        Msg<byte[]> dead = memory.messages("raw_deadletter", byte[].class).get(0);
        assertThat(dead.headers()).isEqualTo(Map.of("traceparent", TRACE));
        assertThat(new String(dead.payload(), UTF_8)).isEqualTo("not json");
    }

    @Test
    void aModifiedCopyKeepsItsHeaders() {
        Msg<String> m = Msg.builder("p").header("a", "1").build();
        assertThat(m.toBuilder().header("b", "2").build().headers()).containsExactly(Map.entry("a", "1"), Map.entry("b", "2"));
        assertThat(Msg.of("p").headers()).isEmpty();
    }

    /** A payload type the foreign body does not bind to. */
    record Order(int id) {
    }
}
