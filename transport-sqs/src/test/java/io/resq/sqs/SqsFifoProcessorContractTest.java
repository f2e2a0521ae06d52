package io.resq.sqs;

import io.resq.spi.Transport;
import io.resq.testkit.ProcessorContract;

/**
 * The processor scenarios on SQS FIFO queues: per-key order is asserted, delayed redelivery goes
 * through the visibility route, and dead letters land in {@code <queue>_deadletter.fifo}.
 */
class SqsFifoProcessorContractTest extends ProcessorContract {

    @Override
    protected Transport createTransport() {
        return SqsTransport.builder(ElasticMq.client()).fifo(true).closeClient(true).build();
    }
}
