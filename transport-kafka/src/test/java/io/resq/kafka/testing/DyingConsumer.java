package io.resq.kafka.testing;

import io.resq.Queues;
import io.resq.kafka.KafkaTransport;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A consumer process that dies without acking, for fault tests: run in a child JVM, it processes
 * {@code handleFirst} messages of a topic (printing {@code handled <payload>} for each, after the
 * handler returned), then hangs in every handler until the test kills it with SIGKILL.
 *
 * <p>Arguments: bootstrap servers, topic, group, handleFirst.
 */
public final class DyingConsumer {

    private DyingConsumer() {
    }

    /** Runs until killed; see the class comment for the arguments. */
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        int handleFirst = Integer.parseInt(args[3]);
        AtomicInteger count = new AtomicInteger();
        Queues queues = Queues.using(KafkaTransport.create(Map.of("bootstrap.servers", bootstrap, "session.timeout.ms", 6000)));
        queues.processor(topic, String.class).group(group).concurrency(4).handler(payload -> {
            if (count.incrementAndGet() > handleFirst) {
                System.out.println("hanging");
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            synchronized (System.out) {
                System.out.println("handled " + payload);
                System.out.flush();
            }
        }).start();
        Thread.sleep(Long.MAX_VALUE);
    }
}
