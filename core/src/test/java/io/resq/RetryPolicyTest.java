package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    @Test
    void fixedLinearExponential() {
        RetryPolicy fixed = RetryPolicy.fixed(Duration.ofMillis(50));
        RetryPolicy linear = RetryPolicy.linear(Duration.ofMillis(100), Duration.ofMillis(50));
        RetryPolicy exp = RetryPolicy.exponential(Duration.ofMillis(100), 2.0);

        assertThat(fixed.delayAfter(1)).isEqualTo(Duration.ofMillis(50));
        assertThat(fixed.delayAfter(5)).isEqualTo(Duration.ofMillis(50));
        assertThat(linear.delayAfter(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(linear.delayAfter(3)).isEqualTo(Duration.ofMillis(200));
        assertThat(exp.delayAfter(1)).isEqualTo(Duration.ofMillis(100));
        assertThat(exp.delayAfter(4)).isEqualTo(Duration.ofMillis(800));
        assertThat(exp.intervalFunction().apply(2)).isEqualTo(200L);
    }

    @Test
    void maxDelayCapsAndJitterSpreads() {
        RetryPolicy capped = RetryPolicy.exponential(Duration.ofSeconds(1), 10).maxDelay(Duration.ofSeconds(30));
        assertThat(capped.delayAfter(5)).isEqualTo(Duration.ofSeconds(30));

        RetryPolicy jittered = RetryPolicy.fixed(Duration.ofMillis(1000)).jitter(0.5);
        for (int i = 0; i < 100; i++) {
            assertThat(jittered.delayAfter(1).toMillis()).isBetween(500L, 1500L);
        }
    }

    @Test
    void randomStaysInItsRange() {
        RetryPolicy random = RetryPolicy.random(Duration.ofMillis(100), Duration.ofMillis(300));
        for (int i = 0; i < 200; i++) {
            assertThat(random.delayAfter(1).toMillis()).isBetween(100L, 300L);
        }
    }

    @Test
    void retryOnAndAbortOn() {
        RetryPolicy p = RetryPolicy.fixed(Duration.ofMillis(1)).retryOn(IOException.class, UncheckedIOException.class)
                .abortOn(java.io.FileNotFoundException.class);

        assertThat(p.isRetryable(new IOException())).isTrue();
        assertThat(p.isRetryable(new java.io.FileNotFoundException())).isFalse();
        assertThat(p.isRetryable(new IllegalStateException())).isFalse();
        assertThat(RetryPolicy.fixed(Duration.ofMillis(1)).isRetryable(new IllegalStateException())).isTrue();
    }

    @Test
    void noneIsOneAttempt() {
        assertThat(RetryPolicy.none().maxAttempts()).isEqualTo(1);
        assertThatThrownBy(() -> RetryPolicy.none().maxAttempts(3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void argumentsAreValidatedWithClearMessages() {
        assertThatThrownBy(() -> RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(0))
                .hasMessage("maxAttempts must be >= 1, was 0");
        assertThatThrownBy(() -> RetryPolicy.exponential(Duration.ofMillis(1), 0.5)).hasMessage("multiplier must be >= 1.0, was 0.5");
        assertThatThrownBy(() -> RetryPolicy.fixed(Duration.ZERO)).hasMessage("delay must be >= 1ms, was PT0S");
        assertThatThrownBy(() -> RetryPolicy.fixed(null)).hasMessage("delay must not be null");
        assertThatThrownBy(() -> RetryPolicy.fixed(Duration.ofMillis(1)).jitter(1.0)).hasMessage("jitter must be >= 0 and < 1, was 1.0");
        assertThatThrownBy(() -> RetryPolicy.random(Duration.ofMillis(5), Duration.ofMillis(1))).hasMessageContaining("max must be >= min");
    }
}
