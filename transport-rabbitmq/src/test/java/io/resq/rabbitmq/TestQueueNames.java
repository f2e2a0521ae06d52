package io.resq.rabbitmq;

import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** Unique queue names for one test class, remembered with their dead-letter queues so the class can delete them all. */
final class TestQueueNames {

    private final String prefix;
    private final Set<String> made = ConcurrentHashMap.newKeySet();

    TestQueueNames(String prefix) {
        this.prefix = prefix;
    }

    /** A new name, {@code <prefix>_<base>_<random>}. */
    String next(String base) {
        String name = prefix + "_" + base + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        made.add(name);
        made.add(name + "_deadletter");
        return name;
    }

    /** Deletes every queue named so far. */
    void deleteAll() {
        RabbitBroker.deleteQueues(made);
    }
}
