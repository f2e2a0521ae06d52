package io.resq.micrometer;

import static io.resq.testkit.Await.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.redis.RedisTransport;
import io.resq.testkit.Brokers;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The meters over a real broker: a message redelivered through Redis Streams once, then handled ({@code RESQ_REDIS_URI} or 127.0.0.1:6379). */
@Timeout(60)
class RedisMetricsTest {

    @Test
    void aRedeliveryThroughRedisIsCounted() throws Exception {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        String queue = "resq-metrics-" + UUID.randomUUID();
        MeterRegistry registry = new SimpleMeterRegistry();
        AtomicInteger calls = new AtomicInteger();
        try (Queues queues = Queues.builder(RedisTransport.create(Brokers.redisUri())).interceptor(ResqMetrics.of(registry)).build()) {
            queues.processor(queue, String.class).group("billing")
                    .retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(2))
                    .handler(s -> {
                        if (calls.incrementAndGet() == 1) {
                            throw new IllegalStateException("first delivery fails");
                        }
                    }).start();
            queues.enqueue(queue, String.class).send("a");

            String[] t = {"queue", queue, "group", "billing"};
            waitFor("succeeded", () -> registry.find(ResqMetrics.SUCCEEDED).tags(t).counter() != null
                    && registry.get(ResqMetrics.SUCCEEDED).tags(t).counter().count() == 1);
            assertThat(registry.get(ResqMetrics.RECEIVED).tags(t).counter().count()).isEqualTo(2);
            assertThat(registry.get(ResqMetrics.REDELIVERED).tags(t).counter().count()).isEqualTo(1);
            assertThat(registry.get(ResqMetrics.DEAD_LETTERED).tags(t).counter().count()).isZero();
            assertThat(registry.get(ResqMetrics.HANDLER_DURATION).tags(t).tags("outcome", "failure").timer().count()).isEqualTo(1);
            assertThat(registry.get(ResqMetrics.HANDLER_DURATION).tags(t).tags("outcome", "success").timer().count()).isEqualTo(1);
            assertThat(registry.get(ResqMetrics.SEND_DURATION).tags("queue", queue, "outcome", "success").timer().count()).isEqualTo(1);
        }
    }
}
