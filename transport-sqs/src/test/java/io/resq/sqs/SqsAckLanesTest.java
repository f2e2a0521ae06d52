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
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequest;

/**
 * One throttled queue never delays the deletes of other queues. ElasticMQ does not throttle, so
 * the throttling (SQS's answer plus the SDK's back-off) is a 6-second wait the client adds before
 * that queue's deletes leave; the deletes themselves go to the real endpoint.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SqsAckLanesTest {

    private final FaultInjector faults = new FaultInjector();
    private final SqsClient client = faults.client(ElasticMq.endpoint());

    @AfterEach
    void close() {
        client.close();
    }

    @Test
    void aThrottledQueueDelaysOnlyItsOwnDeletes() throws Exception {
        String slowQueue = TestQueues.unique("acks_throttled");
        String fastQueue = TestQueues.unique("acks_other");
        try (SqsTransport transport = SqsTransport.create(client)) {
            Receiver slow = transport.receiver(slowQueue, ReceiverOptions.defaults());
            Receiver fast = transport.receiver(fastQueue, ReceiverOptions.defaults());
            String slowUrl = TestQueues.url(client, slowQueue);
            String fastUrl = TestQueues.url(client, fastQueue);
            transport.sender(slowQueue).send(Outbound.of("s-1", new byte[] {'s'})).get(30, TimeUnit.SECONDS);
            transport.sender(fastQueue).send(Outbound.of("f-1", new byte[] {'f'})).get(30, TimeUnit.SECONDS);
            List<Delivery> s = TestQueues.receive(slow, 1, Duration.ofSeconds(20));
            List<Delivery> f = TestQueues.receive(fast, 1, Duration.ofSeconds(20));
            assertThat(s).hasSize(1);
            assertThat(f).hasSize(1);
            faults.slowBy = Duration.ofSeconds(6);
            faults.slow = r -> r instanceof DeleteMessageBatchRequest d && d.queueUrl().equals(slowUrl);

            s.get(0).ack();
            Thread.sleep(20); // the throttled delete is under way
            long ackedAt = System.nanoTime();
            f.get(0).ack();
            while (TestQueues.counts(client, fastUrl).total() > 0 && System.nanoTime() - ackedAt < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(20);
            }
            Duration fastDelete = Duration.ofNanos(System.nanoTime() - ackedAt);
            System.out.println("[sqs acks] delete of the other queue's message took " + fastDelete.toMillis() + " ms");
            assertThat(fastDelete).as("the other queue's delete").isLessThan(Duration.ofMillis(1500));

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (TestQueues.counts(client, slowUrl).total() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(TestQueues.counts(client, slowUrl).total()).as("the throttled queue's delete lands too").isZero();
            slow.close();
            fast.close();
        }
    }
}
