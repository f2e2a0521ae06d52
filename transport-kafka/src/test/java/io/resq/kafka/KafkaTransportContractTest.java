package io.resq.kafka;

import io.resq.kafka.testing.TestKafka;
import io.resq.spi.Transport;
import io.resq.testkit.TransportContract;
import java.util.Map;

/** The transport compliance suite against a real Kafka broker (embedded KRaft, or RESQ_KAFKA_BOOTSTRAP). */
class KafkaTransportContractTest extends TransportContract {

    @Override
    protected Transport createTransport() {
        return KafkaTransport.create(Map.of("bootstrap.servers", TestKafka.bootstrapServers()));
    }
}
