package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HoldLimitTest {

    @Test
    void eightPollsOfRecordsOrTwoFetchesOfBytes() {
        HoldLimit limit = HoldLimit.of(16, 500, 1_048_576);
        assertThat(limit.records()).isEqualTo(4_000);
        assertThat(limit.bytes()).isEqualTo(2_097_152L);
        assertThat(HoldLimit.of(10_000, 500, 1_048_576).records()).as("never below the prefetch").isEqualTo(10_000);
        assertThat(HoldLimit.of(16, Integer.MAX_VALUE, Integer.MAX_VALUE))
                .as("huge settings do not overflow").isEqualTo(new HoldLimit(Integer.MAX_VALUE, 2L * Integer.MAX_VALUE));
    }

    @Test
    void reachedAtEitherLimitAndBackOnlyWhenBothAreAtHalf() {
        HoldLimit limit = new HoldLimit(100, 10_000);
        assertThat(limit.reached(99, 9_999)).isFalse();
        assertThat(limit.reached(100, 0)).isTrue();
        assertThat(limit.reached(1, 10_000)).as("a few large records").isTrue();

        assertThat(limit.backToHalf(50, 5_000)).isTrue();
        assertThat(limit.backToHalf(51, 0)).isFalse();
        assertThat(limit.backToHalf(1, 5_001)).isFalse();
    }

    @Test
    void refusesLimitsThatCouldNeverResume() {
        assertThatThrownBy(() -> new HoldLimit(1, 100)).hasMessageContaining("at least 2 records");
    }
}
