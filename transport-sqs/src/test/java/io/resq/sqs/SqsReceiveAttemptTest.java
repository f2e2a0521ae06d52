package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/** FIFO receives carry a receive-request attempt id, so a receive whose answer was lost is repeated and its messages come at once. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsReceiveAttemptTest {

    private final FaultInjector faults = new FaultInjector();
    private final SqsClient client = faults.client(ElasticMq.endpoint());

    @AfterEach
    void close() {
        client.close();
    }

    private List<ReceiveMessageRequest> receives() {
        return faults.requests.stream().filter(ReceiveMessageRequest.class::isInstance).map(ReceiveMessageRequest.class::cast).toList();
    }

    @Test
    void fifoReceivesCarryAnAttemptIdAndStandardOnesNone() throws Exception {
        try (SqsTransport fifo = SqsTransport.builder(client).fifo(true).build(); SqsTransport standard = SqsTransport.create(client)) {
            Receiver f = fifo.receiver(TestQueues.unique("attempt_fifo"), ReceiverOptions.defaults());
            f.poll(1, Duration.ZERO);
            f.poll(1, Duration.ZERO);
            List<ReceiveMessageRequest> fifoReceives = receives();
            assertThat(fifoReceives).hasSize(2).allSatisfy(r -> assertThat(r.receiveRequestAttemptId()).isNotBlank());
            assertThat(fifoReceives.get(0).receiveRequestAttemptId()).as("a new id for each answered receive")
                    .isNotEqualTo(fifoReceives.get(1).receiveRequestAttemptId());
            faults.requests.clear();
            Receiver s = standard.receiver(TestQueues.unique("attempt_std"), ReceiverOptions.defaults());
            s.poll(1, Duration.ZERO);
            assertThat(receives()).singleElement().satisfies(r -> assertThat(r.receiveRequestAttemptId()).isNull());
        }
    }

    @Test
    void aFifoReceiveWhoseAnswerWasLostIsRepeatedAndItsMessagesComeAtOnce() throws Exception {
        try (SqsTransport transport = SqsTransport.builder(client).fifo(true).visibilityTimeout(Duration.ofSeconds(30)).build()) {
            String queue = TestQueues.unique("attempt_lost");
            Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
            transport.sender(queue).send(new Outbound("m1", "k", Map.of(), new byte[] {1}, Duration.ZERO)).get(30, TimeUnit.SECONDS);
            faults.loseAnswer = ReceiveMessageRequest.class::isInstance;

            assertThatThrownBy(() -> r.poll(10, Duration.ofSeconds(1))).isInstanceOf(SqsTransportException.class)
                    .hasMessageContaining("Read timed out");
            // SQS handed m1 out with that lost answer: without the repeat it stays invisible for 30 s, its group with it.
            long start = System.nanoTime();
            List<Delivery> got = TestQueues.receive(r, 1, Duration.ofSeconds(5));
            assertThat(got).extracting(Delivery::id).containsExactly("m1");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            List<ReceiveMessageRequest> receives = receives();
            assertThat(receives.get(1).receiveRequestAttemptId()).as("the repeat carries the lost receive's id")
                    .isEqualTo(receives.get(0).receiveRequestAttemptId());
            got.get(0).ack();
            r.close();
        }
    }
}
