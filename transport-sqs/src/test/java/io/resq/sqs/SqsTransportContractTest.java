package io.resq.sqs;

import io.resq.spi.Transport;
import io.resq.testkit.TransportContract;
import java.time.Duration;

/** The transport compliance suite on standard SQS queues (ElasticMQ in this JVM, or RESQ_SQS_ENDPOINT). */
class SqsTransportContractTest extends TransportContract {

    @Override
    protected Transport createTransport() {
        return SqsTransport.builder(ElasticMq.client()).closeClient(true).build();
    }

    @Override
    protected Duration testDelay() {
        return Duration.ofSeconds(2);
    }
}
