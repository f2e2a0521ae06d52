package io.resq.benchmarks;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.rabbitmq.QueueType;
import io.resq.rabbitmq.RabbitMqTransport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RabbitMQ (classic queues, persistent messages, publisher confirms) with a handler that fails for
 * every tenth message, always: the same scenario and policy as {@link KafkaFailureScenario}. Both
 * sides read resq's envelope. The raw consumer takes deliveries with a prefetch of 16 (resq's
 * default prefetch for one handler), decodes each with Jackson, calls again after 10 ms up to three
 * calls, publishes a message that failed three times to a dead-letter queue and waits for the
 * broker's confirm, acks each delivery, and logs a line per retry and per dead letter, as resq's
 * default listener does.
 *
 * <p>Run: {@code benchmarks/run RabbitMqFailureScenario 10000 in-process raw,resq 2}
 * (RabbitMQ at {@code RESQ_RABBITMQ_URI} or guest@127.0.0.1:5672; arguments in {@link FailureRuns}).
 */
final class RabbitMqFailureScenario {

    private static final Logger LOG = LoggerFactory.getLogger(RabbitMqFailureScenario.class);
    private static final int PREFETCH = 16;

    private RabbitMqFailureScenario() {
    }

    /** Args: see {@link FailureRuns#run}. */
    public static void main(String[] args) throws Exception {
        ConnectionFactory factory = Brokers.rabbitMq();
        FailureRuns.run("RabbitMQ (" + factory.getHost() + ":" + factory.getPort() + ", classic, persistent, confirms)", args,
                n -> raw(factory, n), (n, policy) -> resq(factory, n, policy));
    }

    static KafkaFailureScenario.Outcome raw(ConnectionFactory factory, int n) throws Exception {
        String queue = "bench_fail_raw_" + UUID.randomUUID();
        String deadLetters = queue + "_deadletter";
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        try (Connection c = factory.newConnection("bench-raw-failing")) {
            Channel pub = c.createChannel();
            pub.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "classic"));
            pub.queueDeclare(deadLetters, true, false, false, Map.of("x-queue-type", "classic"));
            pub.confirmSelect();
            AMQP.BasicProperties persistent = new AMQP.BasicProperties.Builder().deliveryMode(2).build();
            for (int i = 0; i < n; i++) {
                EnvelopeJson e = EnvelopeJson.of(queue, TimedBody.of(i));
                pub.basicPublish("", queue, new AMQP.BasicProperties.Builder().deliveryMode(2).messageId(e.id()).build(), e.toBytes());
            }
            pub.waitForConfirmsOrDie(60_000);
            // The consumer's own channel: deliveries arrive one at a time on the client's dispatch thread.
            Channel sub = c.createChannel();
            sub.basicQos(PREFETCH);
            sub.basicConsume(queue, false, new DefaultConsumer(sub) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) throws IOException {
                    tally.starting();
                    try {
                        settle(pub, persistent, queue, deadLetters, envelope, props, body, tally);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    sub.basicAck(envelope.getDeliveryTag(), false);
                }
            });
            try {
                return tally.await("raw, 10% failing");
            } finally {
                pub.queueDelete(queue);
                pub.queueDelete(deadLetters);
            }
        }
    }

    /** The hand-written failure path: up to three calls, then the dead-letter queue, confirmed. */
    private static void settle(Channel pub, AMQP.BasicProperties persistent, String queue, String deadLetters, Envelope envelope,
                               AMQP.BasicProperties props, byte[] body, KafkaFailureScenario.Tally tally) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                KafkaFailureScenario.handle(EnvelopeJson.read(body).payload());
                tally.settled(tally.ok);
                return;
            } catch (IOException | RuntimeException e) {
                if (attempt < KafkaFailureScenario.ATTEMPTS) {
                    LOG.info("retrying {} of {} after attempt {} failed ({}), next in {} ms", props.getMessageId(), queue, attempt,
                            e.getMessage(), KafkaFailureScenario.BACKOFF.toMillis());
                    Thread.sleep(KafkaFailureScenario.BACKOFF.toMillis());
                    continue;
                }
                // A real consumer would add the error to the message; the header keeps that cost in view.
                Map<String, Object> headers = new HashMap<>();
                headers.put("error", String.valueOf(e.getMessage()));
                synchronized (pub) {
                    pub.basicPublish("", deadLetters, persistent.builder().messageId(props.getMessageId()).headers(headers).build(), body);
                    try {
                        pub.waitForConfirmsOrDie(30_000);
                    } catch (java.util.concurrent.TimeoutException timeout) {
                        throw new IOException("no confirm for the dead letter", timeout);
                    }
                }
                LOG.error("dead-lettered {} of {} to {} after {} calls (last: {})", props.getMessageId(), queue, deadLetters, attempt,
                        e.getMessage());
                tally.settled(tally.dead);
                return;
            }
        }
    }

    static KafkaFailureScenario.Outcome resq(ConnectionFactory factory, int n, KafkaFailureScenario.Policy policy) throws Exception {
        String queue = "bench_fail_resq_" + UUID.randomUUID();
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        RabbitMqTransport transport = RabbitMqTransport.builder(factory).queueType(QueueType.CLASSIC).connectionName("bench-resq-failing").build();
        try (Queues queues = Queues.using(transport)) {
            Enqueue<String> out = queues.enqueue(queue, String.class);
            List<CompletableFuture<Msg<String>>> sent = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                sent.add(out.sendAsync(TimedBody.of(i)));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
            Processor<String> p = KafkaFailureScenario.startFailingProcessor(queues, queue, tally, policy);
            try {
                return tally.await("resq, 10% failing");
            } finally {
                p.close();
                try (Connection c = factory.newConnection("bench-cleanup"); Channel ch = c.createChannel()) {
                    ch.queueDelete(queue);
                    ch.queueDelete(queue + "_deadletter");
                }
            }
        }
    }
}
