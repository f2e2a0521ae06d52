package io.resq.rabbitmq;

import io.resq.spi.Transport;
import io.resq.testkit.ProcessorContract;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;

/** The shared processor scenarios on the real broker, with quorum queues. */
class RabbitMqProcessorContractTest extends ProcessorContract {

    private static final Set<String> QUEUES = ConcurrentHashMap.newKeySet();

    @Override
    protected Transport createTransport() {
        RabbitBroker.require();
        return RabbitMqTransport.create(RabbitBroker.factory());
    }

    @Override
    protected String queueName(String base) {
        String name = super.queueName(base);
        // The queue and its dead-letter queue (the delay levels are shared and stay).
        for (String suffix : new String[] {"", "_deadletter", "_deadletter_deadletter"}) {
            QUEUES.add(name + suffix);
        }
        return name;
    }

    @AfterAll
    static void deleteQueues() {
        RabbitBroker.deleteQueues(QUEUES);
    }
}
