package io.resq.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** The arithmetic of the delay levels: never early, at most 1/8 late, at most four hops, a key per level. */
class DelayLevelsTest {

    @Test
    void roundsUpToFourSignificantBitsNeverDown() {
        assertThat(DelayLevels.round(Duration.ofNanos(1))).isEqualTo(1);
        assertThat(DelayLevels.round(Duration.ofMillis(15))).isEqualTo(15);
        assertThat(DelayLevels.round(Duration.ofMillis(17))).isEqualTo(18);
        assertThat(DelayLevels.round(Duration.ofMillis(1000))).isEqualTo(1024);
        assertThat(DelayLevels.round(Duration.ofMillis(1024))).isEqualTo(1024);
        assertThat(DelayLevels.round(Duration.ofMillis(1025))).isEqualTo(1152);
        assertThat(DelayLevels.round(Duration.ofMillis(1).plusNanos(1))).isEqualTo(2);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 100_000; i++) {
            long ms = random.nextLong(1, DelayLevels.MAX_DELAY_MILLIS + 1);
            long rounded = DelayLevels.round(Duration.ofMillis(ms));
            assertThat(rounded).isGreaterThanOrEqualTo(ms).isLessThanOrEqualTo(DelayLevels.MAX_DELAY_MILLIS);
            assertThat(rounded - ms).as("lateness of %s ms", ms).isLessThanOrEqualTo(ms / 8);
            assertThat(DelayLevels.hops(rounded)).isBetween(1, 4);
            assertThat(rounded).as("fits the 32 levels").isLessThan(1L << DelayLevels.LEVELS);
        }
    }

    @Test
    void refusesDelaysThePlainLevelsCannotHold() {
        assertThat(DelayLevels.round(Duration.ofMillis(DelayLevels.MAX_DELAY_MILLIS))).isEqualTo(DelayLevels.MAX_DELAY_MILLIS);
        assertThatThrownBy(() -> DelayLevels.round(Duration.ofMillis(DelayLevels.MAX_DELAY_MILLIS + 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("delay must be <= 4026531840 ms");
        assertThatThrownBy(() -> DelayLevels.round(Duration.ZERO)).hasMessageContaining("delay must be > 0");
    }

    @Test
    void theRoutingKeySpellsTheBitsHighestFirstThenTheQueue() {
        String key = DelayLevels.routingKey(5, "orders.eu");
        assertThat(key).isEqualTo("0.".repeat(29) + "1.0.1.orders.eu");
        assertThat(DelayLevels.levelBinding(31, 1)).isEqualTo("1.#");
        assertThat(DelayLevels.levelBinding(0, 0)).isEqualTo("*.".repeat(31) + "0.#");
        assertThat(DelayLevels.deliveryBinding("orders.eu")).isEqualTo("*.".repeat(32) + "orders.eu");
    }

    @Test
    void namesWithAWildcardWordCannotTakeDelays() {
        assertThat(DelayLevels.unsupportedName("orders.*")).contains("wildcard");
        assertThat(DelayLevels.unsupportedName("a.#.b")).contains("wildcard");
        assertThat(DelayLevels.unsupportedName("orders#1.v2*")).isNull();
    }
}
