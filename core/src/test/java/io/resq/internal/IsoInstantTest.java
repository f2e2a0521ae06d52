package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IsoInstantTest {

    // A fixed seed, so a failure names an instant that fails again.
    private final SplittableRandom random = new SplittableRandom(20261123);

    @Test
    void formatsExactlyAsInstantToStringAcrossTheFourDigitYearsAndBeyond() {
        for (int i = 0; i < 200_000; i++) {
            long seconds = random.nextLong(-70_000_000_000L, 260_000_000_000L);
            int nano = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1000;
                default -> random.nextInt(1_000_000_000);
            };
            Instant instant = Instant.ofEpochSecond(seconds, nano);
            assertThat(IsoInstant.format(instant)).as("%s", instant).isEqualTo(instant.toString());
            assertThat(IsoInstant.formatMillis(instant)).as("%s", instant).isEqualTo(instant.truncatedTo(ChronoUnit.MILLIS).toString());
        }
    }

    @Test
    void formatsTheEdgesAsInstantToString() {
        for (Instant instant : new Instant[] {Instant.EPOCH, Instant.MIN, Instant.MAX, Instant.parse("0000-01-01T00:00:00Z"),
                Instant.parse("9999-12-31T23:59:59.999999999Z"), Instant.parse("2024-02-29T00:00:00.100Z"),
                Instant.parse("-0001-12-31T23:59:59Z"), Instant.parse("+10000-01-01T00:00:00Z")}) {
            assertThat(IsoInstant.format(instant)).isEqualTo(instant.toString());
        }
    }

    @Test
    void parsesWhatItFormatsAndWhatInstantParseReads() {
        for (int i = 0; i < 200_000; i++) {
            Instant instant = Instant.ofEpochSecond(random.nextLong(-70_000_000_000L, 260_000_000_000L), random.nextInt(1_000_000_000));
            String text = instant.toString();
            assertThat(IsoInstant.parse(text)).as(text).isEqualTo(instant);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-23T10:15:30Z", "2026-11-23T10:15:30.1Z", "2026-11-23T10:15:30.12Z", "2026-11-23T10:15:30.1234Z",
            "2026-11-23T10:15:30.123456789Z", "2026-11-23T10:15:30+01:00", "2026-11-23t10:15:30z", "2016-12-31T23:59:60Z",
            "+12026-11-23T10:15:30Z", "2026-11-23T24:00:00Z", "2026-11-23T10:15:30.Z"})
    void agreesWithInstantParseOnOtherForms(String text) {
        Instant expected;
        try {
            expected = Instant.parse(text);
        } catch (DateTimeParseException e) {
            assertThatThrownBy(() -> IsoInstant.parse(text)).isInstanceOf(DateTimeParseException.class);
            return;
        }
        assertThat(IsoInstant.parse(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "yesterday", "2026-02-30T10:15:30Z", "2026-13-01T10:15:30Z", "2026-11-23T10:61:30Z",
            "2026-11-23T10:15:30.1234567890Z", "2026-11-23 10:15:30Z", "2026-11-2aT10:15:30Z"})
    void refusesWhatInstantParseRefuses(String text) {
        assertThatThrownBy(() -> Instant.parse(text)).isInstanceOf(DateTimeParseException.class);
        assertThatThrownBy(() -> IsoInstant.parse(text)).isInstanceOf(DateTimeParseException.class);
    }
}
