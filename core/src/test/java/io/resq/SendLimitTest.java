package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One body limit: Enqueue refuses what resq's own consumers would dead-letter as oversized, with room for the history. */
@Timeout(60)
class SendLimitTest {

    private static final int LIMIT = 20_000;

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.builder(transport).maxBodySize(LIMIT).build();

    @AfterEach
    void close() {
        queues.close();
    }

    @Test
    void theSendLimitIsTheSmallerLimitLessRoomForTheHistory() {
        assertThat(queues.sendLimit(10 * 1024 * 1024)).isEqualTo(LIMIT - LIMIT / 4);
        assertThat(queues.sendLimit(1000)).isEqualTo(750);
        Queues big = Queues.builder(transport).maxBodySize(4 * 1024 * 1024).build();
        assertThat(big.sendLimit(10 * 1024 * 1024)).isEqualTo(4 * 1024 * 1024 - Queues.HISTORY_RESERVE_BYTES);
    }

    @Test
    void enqueueRefusesABodyThatAResqConsumerWouldDeadLetterAsOversized() {
        Enqueue<String> out = queues.enqueue("q", String.class);

        assertThatThrownBy(() -> out.send("x".repeat(LIMIT + 100))).isInstanceOf(SendException.class)
                .hasMessageContaining("send limit").hasMessageContaining("HISTORY_RESERVE_BYTES");
        assertThatThrownBy(() -> out.send("x".repeat(LIMIT - 1000))).isInstanceOf(SendException.class);
        assertThat(transport.bodies("q")).isEmpty();
    }

    @Test
    void theSendChannelReportsAnOversizedBodyInsteadOfDroppingIt() throws Exception {
        Enqueue<String> out = queues.enqueue("q", String.class);
        out.messages().put("x".repeat(LIMIT + 100));

        Undelivered<String> u = out.deadLetters().poll(5, TimeUnit.SECONDS);
        assertThat(u).isNotNull();
        assertThat(u.failures()).singleElement().satisfies(f -> assertThat(f.message()).contains("send limit"));
    }

    @Test
    void aMessageAcceptedOnSendStillFitsAsADeadLetterAfterFailingWithHugeErrors() throws Exception {
        // A limit of 256 KiB or more leaves the full reserve: room for every entry, bounded as Failure says.
        Queues queues = Queues.builder(transport).maxBodySize(300_000).build();
        String payload = "p".repeat(queues.sendLimit(transport.maxBodySize()) - 200);
        queues.processor("q", String.class).retry(RetryPolicy.none())
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(3))
                .handler(s -> {
                    throw new IllegalStateException("e".repeat(100_000));
                }).start();
        queues.enqueue("q", String.class).send(payload);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (transport.bodies("q_deadletter").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Msg<String> dead = transport.messages("q_deadletter", String.class).get(0);
        assertThat(dead.payload()).isEqualTo(payload);
        assertThat(dead.errors()).hasSize(3).allSatisfy(f -> assertThat(f.statusCode()).isEqualTo(500));
        queues.close();
    }
}
