package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class QueuesBadInputTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.builder(transport).sendRetry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3)).build();

    @AfterEach
    void close() {
        queues.close();
    }

    @Test
    void nullOrBlankArgumentsNameTheArgument() {
        assertThatThrownBy(() -> Queues.using(null)).hasMessage("transport must not be null");
        assertThatThrownBy(() -> queues.enqueue(null, String.class)).hasMessage("queue must not be null");
        assertThatThrownBy(() -> queues.enqueue(" ", String.class)).hasMessage("queue must not be blank");
        assertThatThrownBy(() -> queues.dequeue("q", (Class<String>) null)).hasMessage("type must not be null");
        assertThatThrownBy(() -> queues.dequeue("q", (TypeRef<String>) null)).hasMessage("type must not be null");
        assertThatThrownBy(() -> queues.enqueue("q", (TypeRef<String>) null)).hasMessage("type must not be null");
        assertThatThrownBy(() -> queues.processor("q", (TypeRef<String>) null)).hasMessage("type must not be null");
        assertThatThrownBy(() -> Queues.builder(transport).payloadCodec(null)).hasMessage("payloadCodec must not be null");
        assertThatThrownBy(() -> queues.dequeue("q", String.class, "")).hasMessage("group must not be blank");
        assertThatThrownBy(() -> queues.processor("", String.class)).hasMessage("queue must not be blank");
        assertThatThrownBy(() -> queues.processor("q", String.class).concurrency(0)).hasMessage("concurrency must be >= 1, was 0");
        assertThatThrownBy(() -> queues.processor("q", String.class).timeout(Duration.ZERO)).hasMessage("timeout must be > 0, was PT0S");
        assertThatThrownBy(() -> queues.processor("q", String.class).handler(null)).hasMessage("handler must not be null");
        assertThatThrownBy(() -> queues.processor("q", String.class).start()).hasMessageContaining("no handler");
        assertThatThrownBy(() -> queues.processor("q", String.class).concurrency(8).prefetch(4).handler(s -> { }).start())
                .hasMessage("prefetch must be >= concurrency (8), was 4");
        assertThatThrownBy(() -> Queues.builder(transport).maxBodySize(0)).hasMessage("maxBodySize must be >= 1, was 0");
        assertThatThrownBy(() -> queues.enqueue("q", String.class).send((String) null)).hasMessage("payload must not be null");
    }

    @Test
    void closedQueuesDequeueAndEnqueueThrowIllegalState() {
        Enqueue<String> out = queues.enqueue("q", String.class);
        Dequeue<String> in = queues.dequeue("q", String.class);
        out.close();
        in.close();
        assertThatThrownBy(() -> out.send("x")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");

        queues.close();
        assertThatThrownBy(() -> queues.enqueue("q", String.class)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> queues.dequeue("q", String.class)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> queues.processor("q", String.class)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> queues.redrive("a", "b")).isInstanceOf(IllegalStateException.class);
        assertThat(queues.health().transport().isUp()).isFalse();
        queues.close();
    }

    @Test
    void failingTransportMakesSyncSendThrowAfterRetries() {
        Enqueue<String> out = queues.enqueue("q", String.class);
        transport.failSends("q", new java.io.IOException("connection refused: 127.0.0.1:5672"));

        assertThatThrownBy(() -> out.send("x"))
                .isInstanceOf(SendException.class)
                .hasMessageContaining("after 3 attempts")
                .hasMessageContaining("connection refused")
                .satisfies(e -> assertThat(((SendException) e).failures()).hasSize(3));
    }

    @Test
    void failingTransportLandsBestEffortSendsInDeadLetters() throws InterruptedException {
        Enqueue<String> out = queues.enqueue("q", String.class);
        transport.failSends("q", new java.io.IOException("broker down"));
        out.messages().put("a");
        out.messages().put("b");

        Undelivered<String> first = out.deadLetters().poll(10, TimeUnit.SECONDS);
        Undelivered<String> second = out.deadLetters().poll(10, TimeUnit.SECONDS);

        assertThat(first).isNotNull();
        assertThat(second).isNotNull();
        assertThat(first.message().payload()).isEqualTo("a");
        assertThat(second.message().payload()).isEqualTo("b");
        assertThat(first.failures()).hasSize(3).allSatisfy(f -> assertThat(f.message()).isEqualTo("broker down"));
        assertThat(transport.messages("q", String.class)).isEmpty();

        transport.healSends("q");
        out.messages().put("c");
        assertThat(out.deadLetters().poll(300, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void oversizedSendIsRefusedWithoutRetry() {
        InMemoryTransport small = InMemoryTransport.create(java.time.Clock.systemUTC(), 100);
        try (Queues q = Queues.using(small)) {
            Enqueue<String> out = q.enqueue("q", String.class);
            assertThatThrownBy(() -> out.send("x".repeat(200)))
                    .isInstanceOf(SendException.class)
                    .hasMessageContaining("over the send limit of 75 bytes").hasMessageContaining("body limit is 100 bytes");
            assertThatThrownBy(() -> out.sendAsync("y".repeat(200)).get())
                    .isInstanceOf(ExecutionException.class).cause().isInstanceOf(SendException.class);
        }
    }

    @Test
    void ackOfAMessageNotReceivedIsRefused() {
        Dequeue<String> in = queues.dequeue("q", String.class);
        assertThatThrownBy(() -> in.ack(Msg.of("x"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only received messages can be acked");
    }
}
