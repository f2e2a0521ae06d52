package io.resq.rabbitmq;

/** The transport compliance suite on the real broker, with classic queues. */
class RabbitMqClassicContractTest extends RabbitMqTransportContractTest {

    @Override
    QueueType queueType() {
        return QueueType.CLASSIC;
    }
}
