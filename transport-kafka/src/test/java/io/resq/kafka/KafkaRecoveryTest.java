package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Enqueue;
import io.resq.Listener;
import io.resq.Queues;
import io.resq.spi.Health;
import io.resq.kafka.testing.TestKafka;
import io.resq.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A consumer error that can pass is not the end: the receiver recreates its consumer and goes on. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaRecoveryTest {

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.until(Duration.ofSeconds(90), c);
    }

    @Test
    void aFencedConsumerIsRecreatedAndTheProcessorGoesOn() throws Exception {
        String topic = "recovery_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Object> config = Map.of("bootstrap.servers", TestKafka.bootstrapServers(), "group.instance.id", "svc",
                "session.timeout.ms", 10_000);
        Set<String> handled = ConcurrentHashMap.newKeySet();
        List<String> states = new CopyOnWriteArrayList<>();
        Listener watching = new Listener() {
            @Override
            public void onReceiverStateChanged(String queue, String group, Health state) {
                states.add(group + ":" + state.status());
            }
        };
        try (KafkaTransport transport = KafkaTransport.create(config);
             Queues queues = Queues.builder(transport).listener(watching).build()) {
            queues.processor(topic, String.class).group("fence").handler(handled::add).start();
            Enqueue<String> out = queues.enqueue(topic, String.class);
            out.send("before-1");
            assertThat(await(() -> handled.contains("before-1"))).isTrue();

            // Another process starts with the same static member id: the broker fences ours.
            Map<String, Object> intruder = Map.of("bootstrap.servers", TestKafka.bootstrapServers(), "group.id", "fence",
                    "group.instance.id", "svc-" + topic + "-1", "session.timeout.ms", 10_000,
                    "key.deserializer", ByteArrayDeserializer.class.getName(), "value.deserializer", ByteArrayDeserializer.class.getName());
            try (KafkaConsumer<byte[], byte[]> other = new KafkaConsumer<>(intruder)) {
                other.subscribe(List.of(topic));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                try {
                    while (System.nanoTime() < until) {
                        other.poll(Duration.ofMillis(200));
                    }
                } catch (FencedInstanceIdException e) {
                    // ours came back with its member id and fenced the intruder in turn
                }
            }

            out.send("after-1");
            out.send("after-2");
            assertThat(await(() -> handled.containsAll(Set.of("after-1", "after-2"))))
                    .as("handled after the fencing: %s; health: %s", handled, transport.health().detail()).isTrue();
            assertThat(await(() -> transport.health().isUp())).as("health: %s", transport.health().detail()).isTrue();
            // The processor saw its receiver go down and come back, as events and in its health.
            assertThat(await(() -> states.equals(List.of("fence:DOWN", "fence:UP")))).as("states: %s", states).isTrue();
            assertThat(queues.health().processors().get(0).receiver().isUp()).isTrue();
        }
    }
}
