package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;

/** Where a delayed redelivery goes in its FIFO message group, and that the group's order holds around it. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SqsFifoOrderTest {

    private final SqsClient client = ElasticMq.client();
    private final SqsTransport transport = SqsTransport.builder(client).fifo(true).build();

    @AfterEach
    void close() {
        transport.close();
        client.close();
    }

    private static Outbound message(String id, Duration delay) {
        return new Outbound(id, "k", Map.of(), id.getBytes(StandardCharsets.UTF_8), delay);
    }

    @Test
    void laterMessagesOfTheGroupInTheSameReceiveWaitForTheParkedOne() throws Exception {
        String queue = TestQueues.unique("fifo_behind");
        Receiver r = transport.receiver(queue, new ReceiverOptions("order", 10));
        // A redelivery of "a" due in 3 s, then "b" and "c" of the same key: one receive returns all three.
        transport.sender(queue).send(List.of(message("a", Duration.ofSeconds(3)), message("b", Duration.ZERO),
                message("c", Duration.ZERO))).get(30, TimeUnit.SECONDS);
        long sentAt = System.nanoTime();

        List<Delivery> got = new ArrayList<>();
        long firstAt = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (got.size() < 3 && System.nanoTime() < deadline) {
            for (Delivery d : r.poll(10, Duration.ofMillis(200))) {
                if (got.isEmpty()) {
                    firstAt = System.nanoTime();
                }
                got.add(d);
                d.ack();
            }
        }

        assertThat(got).extracting(Delivery::id).as("group order around the parked redelivery").containsExactly("a", "b", "c");
        assertThat(Duration.ofNanos(firstAt - sentAt)).as("nothing of the group before the redelivery was due")
                .isGreaterThanOrEqualTo(Duration.ofMillis(2900));
        assertThat(got).extracting(Delivery::deliveryCount).as("being sent back behind the parked one is no delivery")
                .containsExactly(1, 1, 1);
        r.close();
    }

    @Test
    void aRedeliveryGoesBehindTheMessagesOfItsKeyAlreadyQueuedAndAheadOfLaterOnes() throws Exception {
        String queue = TestQueues.unique("fifo_position");
        List<String> handled = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean failedOnce = new AtomicBoolean();
        try (Queues queues = Queues.using(transport)) {
            var out = queues.enqueue(queue, String.class);
            // m1..m3 are queued before m1 fails; m4 is sent while m1's redelivery waits out its delay.
            for (int i = 1; i <= 3; i++) {
                out.send(io.resq.Msg.builder("m" + i).key("k").build());
            }
            queues.processor(queue, String.class)
                    .retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofSeconds(3)).maxAttempts(2))
                    .handler(s -> {
                        handled.add(s);
                        if (s.equals("m1") && failedOnce.compareAndSet(false, true)) {
                            throw new IllegalStateException("first attempt fails");
                        }
                    })
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (handled.size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            out.send(io.resq.Msg.builder("m4").key("k").build());
            while (handled.size() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(500); // nothing more may come
            assertThat(handled).containsExactly("m1", "m2", "m3", "m1", "m4");
        }
    }
}
