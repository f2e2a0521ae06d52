package io.resq.micrometer;

import static io.resq.testkit.Await.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRetryMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedTimeLimiterMetrics;
import io.github.resilience4j.retry.RetryRegistry;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** resilience4j's own Micrometer binding sees the retry, breaker and time limiter of a processor through the registries resq registers them in. */
@Timeout(60)
class Resilience4jBindingTest {

    @Test
    void resilience4jMetricsSeeAProcessorsRetryBreakerAndTimeLimiter() throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        RetryRegistry retries = RetryRegistry.ofDefaults();
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.ofDefaults();
        TimeLimiterRegistry limiters = TimeLimiterRegistry.ofDefaults();
        TaggedRetryMetrics.ofRetryRegistry(retries).bindTo(registry);
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
        TaggedTimeLimiterMetrics.ofTimeLimiterRegistry(limiters).bindTo(registry);

        AtomicInteger calls = new AtomicInteger();
        try (Queues queues = Queues.builder(InMemoryTransport.create())
                .interceptor(ResqMetrics.of(registry))
                .retryRegistry(retries).circuitBreakerRegistry(breakers).timeLimiterRegistry(limiters).build()) {
            // Started after the bindings: resilience4j's binding follows entries added to the registries.
            queues.processor("orders", String.class).group("billing")
                    .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(3))
                    .circuitBreaker(CircuitBreakerConfig.ofDefaults())
                    .timeout(Duration.ofSeconds(5))
                    .handler(s -> {
                        if (calls.incrementAndGet() == 1) {
                            throw new IllegalStateException("once");
                        }
                    }).start();
            queues.enqueue("orders", String.class).send("a");

            waitFor("retry metrics", () -> registry.find("resilience4j.retry.calls").tags("name", "resq-orders@billing", "kind", "successful_with_retry")
                    .functionCounter() != null
                    && registry.get("resilience4j.retry.calls").tags("name", "resq-orders@billing", "kind", "successful_with_retry")
                    .functionCounter().count() == 1);
            assertThat(registry.get("resilience4j.circuitbreaker.state").tags("name", "resq-orders@billing", "state", "closed").gauge().value())
                    .isEqualTo(1);
            assertThat(registry.get("resilience4j.circuitbreaker.calls").tags("name", "resq-orders@billing", "kind", "failed").timer().count())
                    .isEqualTo(1);
            assertThat(registry.get("resilience4j.circuitbreaker.calls").tags("name", "resq-orders@billing", "kind", "successful").timer().count())
                    .isEqualTo(1);
            assertThat(registry.get("resilience4j.timelimiter.calls").tags("name", "resq-orders@billing", "kind", "successful").counter().count())
                    .isEqualTo(1);
            assertThat(registry.get(ResqMetrics.RETRIED).tags("queue", "orders", "group", "billing").counter().count()).isEqualTo(1);
        }
        // Closing the processor took its entries out of the registries, and resilience4j's binding its meters.
        assertThat(retries.getAllRetries()).isEmpty();
        assertThat(registry.find("resilience4j.retry.calls").tags("name", "resq-orders@billing").meters()).isEmpty();
    }
}
