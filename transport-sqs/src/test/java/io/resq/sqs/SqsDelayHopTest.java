package io.resq.sqs;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;

/**
 * Standard queues: a message received before its due time is not held in flight (where it would
 * count against the queue's in-flight quota) but sent on with DelaySeconds, at most 15 minutes a hop.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SqsDelayHopTest {

    private final SqsClient client = ElasticMq.client();
    private final SqsTransport transport = SqsTransport.create(client);

    @AfterEach
    void close() {
        transport.close();
        client.close();
    }

    private static MessageAttributeValue text(String value) {
        return MessageAttributeValue.builder().dataType("String").stringValue(value).build();
    }

    /** The queue's counts once the received copy's delete (sent in the background) has landed, or after 1.5 s. */
    private TestQueues.Counts settled(String url) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        TestQueues.Counts c = TestQueues.counts(client, url);
        while (c.inFlight() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
            c = TestQueues.counts(client, url);
        }
        return c;
    }

    @Test
    void aMessageReceivedBeforeItIsDueWaitsDelayedNotInFlightAndArrivesOnceUnchanged() throws Exception {
        String queue = TestQueues.unique("hop");
        Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
        String url = TestQueues.url(client, queue);
        // What a long delay looks like after its first 15-minute hop: due in 4 s, no DelaySeconds left.
        long due = System.currentTimeMillis() + 4000;
        client.sendMessage(b -> b.queueUrl(url).messageBody("{\"order\":42}").messageAttributes(Map.of(
                WireFormat.ID, text("hop-1"), WireFormat.KEY, text("customer-7"), WireFormat.DUE, text(Long.toString(due)),
                "trace", text("t-1"))));

        assertThat(r.poll(10, Duration.ofSeconds(1))).as("not handed out before it is due").isEmpty();
        TestQueues.Counts waiting = settled(url);
        assertThat(waiting.inFlight()).as("in flight while it waits").isZero();
        assertThat(waiting.delayed()).as("delayed by SQS while it waits").isEqualTo(1);

        List<Delivery> got = TestQueues.receive(r, 1, Duration.ofSeconds(20));
        long arrived = System.currentTimeMillis();
        assertThat(got).hasSize(1);
        Delivery d = got.get(0);
        assertThat(arrived).as("never early").isGreaterThanOrEqualTo(due);
        assertThat(d.id()).isEqualTo("hop-1");
        assertThat(d.key()).isEqualTo("customer-7");
        assertThat(d.headers()).isEqualTo(Map.of("trace", "t-1"));
        assertThat(new String(d.body(), StandardCharsets.UTF_8)).isEqualTo("{\"order\":42}");
        assertThat(d.deliveryCount()).isEqualTo(1);
        d.ack();

        Thread.sleep(500);
        assertThat(r.poll(10, Duration.ofSeconds(1))).as("exactly one copy").isEmpty();
        assertThat(TestQueues.counts(client, url).total()).isZero();
        r.close();
    }

    @Test
    void aBinaryBodyHopsUnchanged() throws Exception {
        String queue = TestQueues.unique("hop_bin");
        Receiver r = transport.receiver(queue, ReceiverOptions.defaults());
        byte[] body = {0, 1, 2, (byte) 0xff};
        // Delay over 15 minutes is sent as DelaySeconds 900 plus a due time; here the due time is near to see the hop.
        Outbound m = new Outbound("bin-1", null, Map.of(), body, Duration.ofSeconds(2));
        transport.sender(queue).send(m).get(30, TimeUnit.SECONDS);
        String url = TestQueues.url(client, queue);
        // Rewrite it as a message past its native delay but not yet due: receive it raw and send it back with a due time.
        var raw = client.receiveMessage(b -> b.queueUrl(url).waitTimeSeconds(5).messageAttributeNames("All")).messages();
        assertThat(raw).hasSize(1);
        Map<String, MessageAttributeValue> attrs = new java.util.HashMap<>(raw.get(0).messageAttributes());
        attrs.put(WireFormat.DUE, text(Long.toString(System.currentTimeMillis() + 3000)));
        client.sendMessage(b -> b.queueUrl(url).messageBody(raw.get(0).body()).messageAttributes(attrs));
        client.deleteMessage(b -> b.queueUrl(url).receiptHandle(raw.get(0).receiptHandle()));

        assertThat(r.poll(10, Duration.ofSeconds(1))).isEmpty();
        assertThat(settled(url).inFlight()).isZero();
        List<Delivery> got = TestQueues.receive(r, 1, Duration.ofSeconds(20));
        assertThat(got).extracting(Delivery::id).containsExactly("bin-1");
        assertThat(got.get(0).body()).isEqualTo(body);
        got.get(0).ack();
        r.close();
    }

    @Test
    void eachHopIsAtMostFifteenMinutesAndNeverEarly() {
        long now = 1_000_000L;
        assertThat(DelayHops.hopSeconds(now + Duration.ofHours(2).toMillis(), now)).isEqualTo(900);
        assertThat(DelayHops.hopSeconds(now + 1500, now)).isEqualTo(2);
        assertThat(DelayHops.hopSeconds(now + 1, now)).isEqualTo(1);
    }
}
