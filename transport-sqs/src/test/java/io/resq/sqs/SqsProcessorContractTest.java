package io.resq.sqs;

import io.resq.spi.Transport;
import io.resq.testkit.ProcessorContract;

/** The processor scenarios on standard SQS queues. */
class SqsProcessorContractTest extends ProcessorContract {

    @Override
    protected Transport createTransport() {
        return SqsTransport.builder(ElasticMq.client()).closeClient(true).build();
    }
}
