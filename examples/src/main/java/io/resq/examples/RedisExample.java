package io.resq.examples;

import io.resq.Queues;
import io.resq.redis.RedisTransport;

/**
 * Orders through Redis Streams: a processor handles them, one order fails once and is redelivered
 * a second later with its failure in the history, and one that always fails ends in the stream
 * {@code example_orders_deadletter}.
 *
 * <p>Run against the local Redis (or {@code RESQ_REDIS_URI}):
 * {@code mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.RedisExample}
 */
public final class RedisExample {

    private RedisExample() {
    }

    /** Runs the example; exits when every order was handled or dead-lettered. */
    public static void main(String[] args) throws Exception {
        String uri = System.getenv().getOrDefault("RESQ_REDIS_URI", "redis://127.0.0.1:6379");
        try (Queues queues = Queues.using(RedisTransport.create(uri))) {
            BrokerTour.run(queues, "example_orders");
        }
    }
}
