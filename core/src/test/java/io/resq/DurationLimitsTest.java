package io.resq;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A duration too long to count in milliseconds is refused where it is configured, naming the option. */
class DurationLimitsTest {

    private static final Duration HUGE = Duration.ofSeconds(Long.MAX_VALUE);

    @Test
    void retryPoliciesRefuseDurationsThatOverflowMilliseconds() {
        assertThatThrownBy(() -> RetryPolicy.fixed(HUGE)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delay");
        assertThatThrownBy(() -> RetryPolicy.exponential(HUGE, 2.0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetryPolicy.linear(Duration.ofSeconds(1), HUGE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetryPolicy.random(Duration.ofSeconds(1), HUGE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetryPolicy.fixed(Duration.ofSeconds(1)).maxDelay(HUGE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxDelay");
    }

    @Test
    void buildersRefuseDurationsThatOverflowMilliseconds() {
        InMemoryTransport transport = InMemoryTransport.create();
        assertThatThrownBy(() -> Queues.builder(transport).sendTimeout(HUGE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sendTimeout");
        try (Queues queues = Queues.using(transport)) {
            assertThatThrownBy(() -> queues.processor("q", String.class).timeout(HUGE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
            assertThatThrownBy(() -> queues.processor("q", String.class).drainTimeout(HUGE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("drainTimeout");
        }
    }
}
