package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

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

/** A visibility extension SQS refuses is logged at WARN with the message id and what it means, once. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsVisibilityWarningTest {

    private final SqsClient client = ElasticMq.client();

    @AfterEach
    void close() {
        client.close();
    }

    @Test
    void aRefusedExtensionIsLoggedAtWarnOnce() throws Exception {
        String queue = TestQueues.unique("refused_ext");
        try (SqsTransport transport = SqsTransport.builder(client).visibilityTimeout(Duration.ofSeconds(2)).build();
             LogCapture logs = new LogCapture()) {
            Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
            transport.sender(queue).send(Outbound.of("ext-1", new byte[] {'x'})).get(30, TimeUnit.SECONDS);
            List<Delivery> got = TestQueues.receive(r, 1, Duration.ofSeconds(20));
            assertThat(got).hasSize(1);
            // Someone else deletes it while "its handler runs": SQS refuses the next extension of that receipt handle.
            String handle = ((SqsDelivery) got.get(0)).receiptHandle();
            client.deleteMessage(b -> b.queueUrl(TestQueues.url(client, queue)).receiptHandle(handle));

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!logs.text().contains("ext-1") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Thread.sleep(2500); // more heartbeats: the refusal is not logged again
            String text = logs.text();
            assertThat(text).contains("WARN").contains("refused to extend the visibility of message ext-1").contains(queue)
                    .contains("another consumer may receive it");
            assertThat(text.split("message ext-1", -1)).as("logged once").hasSize(2);
            r.close();
        }
    }
}
