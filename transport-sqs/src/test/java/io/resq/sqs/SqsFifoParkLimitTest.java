package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;

/** FIFO queues park delayed messages in flight: one receiver parks at most maxParked of them, and loses none. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SqsFifoParkLimitTest {

    private final SqsClient client = ElasticMq.client();

    @AfterEach
    void close() {
        client.close();
    }

    @Test
    void aReceiverParksAtMostMaxParkedAndDeliversEveryOneWhenDue() throws Exception {
        try (SqsTransport transport = SqsTransport.builder(client).fifo(true).maxParked(2).build()) {
            String queue = TestQueues.unique("fifo_parked");
            Receiver r = transport.receiver(queue, new ReceiverOptions("parked", 10));
            List<Outbound> delayed = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                delayed.add(new Outbound("d" + i, "k" + i, Map.of(), new byte[] {(byte) i}, Duration.ofSeconds(3)));
            }
            transport.sender(queue).send(delayed).get(30, TimeUnit.SECONDS);
            String url = TestQueues.url(client, queue + ".fifo");

            int mostInFlight = 0;
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2000);
            while (System.nanoTime() < until) {
                assertThat(r.poll(10, Duration.ofMillis(200))).as("nothing is due yet").isEmpty();
                mostInFlight = Math.max(mostInFlight, TestQueues.counts(client, url).inFlight());
            }
            assertThat(mostInFlight).as("messages this receiver held in flight while they were not due").isBetween(1, 2);

            List<Delivery> got = TestQueues.receive(r, 5, Duration.ofSeconds(30));
            assertThat(got).extracting(Delivery::id).containsExactlyInAnyOrder("d1", "d2", "d3", "d4", "d5");
            assertThat(got).extracting(Delivery::deliveryCount).containsOnly(1);
            got.forEach(Delivery::ack);
            r.close();
        }
    }

    @Test
    void maxParkedIsValidated() {
        assertThatThrownBy(() -> SqsTransport.builder(client).maxParked(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxParked must be >= 1, was 0");
    }
}
