package io.resq.rabbitmq;

import io.resq.spi.Transport;
import io.resq.testkit.TransportContract;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;

/** The transport compliance suite on the real broker, with quorum queues (the default). */
class RabbitMqTransportContractTest extends TransportContract {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @Override
    protected Transport createTransport() {
        RabbitBroker.require();
        return RabbitMqTransport.builder(RabbitBroker.factory()).queueType(queueType()).build();
    }

    /** The queue type under test; subclasses run the suite on another. */
    QueueType queueType() {
        return QueueType.QUORUM;
    }

    @Override
    protected String queueName(String base) {
        String name = super.queueName(base);
        QUEUES.add(name);
        QUEUES.add(name + "_deadletter"); // declared along with every queue
        return name;
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }
}
