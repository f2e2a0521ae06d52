package io.resq.kafka;

import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Transport;
import io.resq.testkit.ProcessorContract;
import java.util.Map;

/** The shared processor scenarios (failure path, 400 dead letters, circuit, close mid-stream) on real Kafka. */
class KafkaProcessorContractTest extends ProcessorContract {

    @Override
    protected Transport createTransport() {
        return KafkaTransport.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));
    }
}
