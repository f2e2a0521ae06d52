package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.Queues;
import io.resq.testkit.Await;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A processor's default prefetch on RabbitMQ stays close to its concurrency (consumer_timeout). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RabbitMqPrefetchTest {

    @Test
    void theBrokerPushesAboutAsManyAsTheHandlersRunUnlessThePrefetchIsSet() throws Exception {
        String queue = "prefetch_" + UUID.randomUUID().toString().substring(0, 8);
        String explicit = queue + "_explicit";
        try (Queues queues = Queues.using(RabbitMqTransport.builder(RabbitBroker.factory()).build())) {
            queues.processor(queue, String.class).concurrency(2).handler(s -> { }).start();
            queues.processor(explicit, String.class).concurrency(2).prefetch(20).handler(s -> { }).start();

            assertThat(Await.until(Duration.ofSeconds(20), () -> prefetches(queue).equals("[3]"))).as("prefetch of %s: %s", queue,
                    prefetches(queue)).isTrue();
            assertThat(Await.until(Duration.ofSeconds(20), () -> prefetches(explicit).equals("[20]"))).as("set by the application").isTrue();
        }
    }

    private static String prefetches(String queue) {
        try {
            return RabbitBroker.consumerPrefetches(queue).toString();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
