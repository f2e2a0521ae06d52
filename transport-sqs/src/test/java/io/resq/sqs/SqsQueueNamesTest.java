package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.Queues;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;

/** Queue names: SQS's full 80 characters, and derived names that SQS would refuse fail when a consumer starts. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsQueueNamesTest {

    private final SqsClient client = ElasticMq.client();

    @AfterEach
    void close() {
        client.close();
    }

    /** A unique name of exactly {@code length} characters. */
    private static String name(int length) {
        String base = TestQueues.unique("n");
        StringBuilder sb = new StringBuilder(base);
        while (sb.length() < length) {
            sb.append('x');
        }
        return sb.substring(0, length);
    }

    @Test
    void standardQueueNamesMayHaveEightyCharacters() throws Exception {
        String queue = name(80);
        try (SqsTransport transport = SqsTransport.create(client)) {
            transport.sender(queue).send(Outbound.of("long-name", new byte[] {'x'})).get(30, TimeUnit.SECONDS);
            assertThat(TestQueues.url(client, queue)).endsWith(queue);
            Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
            List<Delivery> got = TestQueues.receive(r, 1, Duration.ofSeconds(20));
            assertThat(got).extracting(Delivery::id).containsExactly("long-name");
            got.get(0).ack();
            r.close();
        }
        try (SqsTransport transport = SqsTransport.create(client)) {
            assertThatThrownBy(() -> transport.sender(name(81)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("81 characters")
                    .hasMessageContaining("1 to 80");
        }
    }

    @Test
    void fifoQueueNamesMayHaveEightyCharactersWithTheirSuffix() {
        try (SqsTransport transport = SqsTransport.builder(client).fifo(true).build()) {
            assertThat(transport.queues().physicalName(name(75))).hasSize(80).endsWith(".fifo");
            assertThatThrownBy(() -> transport.sender(name(76)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("81 characters");
        }
    }

    @Test
    void aDeadLetterQueueNameSqsWouldRefuseFailsWhenTheProcessorStarts() {
        String queue = name(72); // fine itself; "<queue>_deadletter" has 83 characters
        try (Queues queues = Queues.using(SqsTransport.create(client))) {
            assertThatThrownBy(() -> queues.processor(queue, String.class).handler(s -> { }).start())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(queue + "_deadletter")
                    .hasMessageContaining("at most 69 characters");
        }
    }

    @Test
    void aFifoDeadLetterQueueNameIsCheckedWithItsSuffix() {
        String queue = name(66); // "<queue>.fifo" has 71 characters, "<queue>_deadletter.fifo" 82
        try (Queues queues = Queues.using(SqsTransport.builder(client).fifo(true).build())) {
            assertThatThrownBy(() -> queues.processor(queue, String.class).handler(s -> { }).start())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(queue + "_deadletter")
                    .hasMessageContaining("at most 64 characters");
        }
    }

    @Test
    void theDeadLetterQueueTheQueuesNameIsChecked() throws Exception {
        String queue = name(70);
        // 70 + "_deadletter" would be 81 characters; with the suffix Queues uses, 74.
        try (Queues queues = Queues.builder(SqsTransport.create(client)).deadLetterSuffix("-dlq").build()) {
            queues.processor(queue, String.class).handler(s -> { }).start();
        }
        try (Queues queues = Queues.using(SqsTransport.create(client))) {
            assertThatThrownBy(() -> queues.dequeue(queue, String.class))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(queue + "_deadletter");
        }
        String deadLetters = name(69) + "_deadletter"; // 80 characters: a receiver of it alone checks nothing more
        try (SqsTransport transport = SqsTransport.create(client)) {
            transport.receiver(deadLetters, ReceiverOptions.defaults()).close();
        }
    }
}
