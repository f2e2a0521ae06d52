package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Outbound;
import io.resq.spi.Sender;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Kafka-specific sending. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KafkaSenderTest {

    /**
     * Kafka acknowledges a topic's creation before its partition leaders serve it; a burst of
     * idempotent sends in that window lost whole batches to OutOfOrderSequenceException in most
     * rounds (KAFKA-15591), until the transport waited for the leaders after creating a topic.
     */
    @Test
    void aBurstOfSendsToATopicTheTransportJustCreatedIsAllConfirmed() throws Exception {
        try (KafkaTransport t = KafkaTransport.builder(Map.of("bootstrap.servers", TestKafka.bootstrapServers()))
                .topicPartitions(3).build()) {
            // Without the wait about half of the rounds failed here; six make a miss unlikely.
            for (int round = 0; round < 6; round++) {
                String topic = "send_burst_" + UUID.randomUUID().toString().substring(0, 8);
                Sender sender = t.sender(topic);
                Map<String, Throwable> failed = new ConcurrentHashMap<>();
                List<CompletableFuture<Void>> sends = new ArrayList<>();
                for (int i = 0; i < 5_000; i++) {
                    String id = "m-" + i;
                    sends.add(sender.send(Outbound.of(id, new byte[200])).whenComplete((v, e) -> {
                        if (e != null) {
                            failed.put(id, e);
                        }
                    }));
                }
                CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).handle((v, e) -> null).get(60, TimeUnit.SECONDS);
                assertThat(failed).as("sends to the new topic %s that failed", topic).isEmpty();
            }
        }
    }
}
