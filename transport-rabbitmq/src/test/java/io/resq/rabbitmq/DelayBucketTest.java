package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Delays are rounded up to a bounded set of delay queues, and never down. */
class DelayBucketTest {

    @Test
    void roundsUpNeverDown() {
        assertThat(Topology.bucket(Duration.ofNanos(1))).isEqualTo(100);
        assertThat(Topology.bucket(Duration.ofMillis(100))).isEqualTo(100);
        assertThat(Topology.bucket(Duration.ofMillis(101))).isEqualTo(200);
        assertThat(Topology.bucket(Duration.ofMillis(2000))).isEqualTo(2000);
        assertThat(Topology.bucket(Duration.ofMillis(9_999))).isEqualTo(10_000);
        assertThat(Topology.bucket(Duration.ofMillis(10_001))).isEqualTo(11_000);
        assertThat(Topology.bucket(Duration.ofMinutes(10).plusMillis(1))).isEqualTo(Duration.ofMinutes(11).toMillis());
        for (long ms = 1; ms < 2_000_000; ms += 997) {
            assertThat(Topology.bucket(Duration.ofMillis(ms))).isGreaterThanOrEqualTo(ms);
        }
    }

    @Test
    void boundsTheNumberOfDelayQueues() {
        long distinct = java.util.stream.LongStream.range(1, 3_600_000).map(ms -> Topology.bucket(Duration.ofMillis(ms))).distinct().count();
        assertThat(distinct).as("delay queues for every delay up to an hour").isLessThan(800);
    }

    @Test
    void refusesDelaysBeyondRabbitMqsTtlLimit() {
        assertThatThrownBy(() -> Topology.bucket(Duration.ofDays(60)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("delay must be <= 4294967295 ms");
    }
}
