package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {

    @Test
    void lengthMatchesTheEncoderForWellFormedText() {
        String s = "a\u00E9\u6F22\uD83D\uDE00";
        assertThat(Utf8.length(s)).isEqualTo(s.getBytes(StandardCharsets.UTF_8).length).isEqualTo(10);
    }

    @Test
    void anUnpairedSurrogateCountsAsThreeBytes() {
        assertThat(Utf8.length("\uD83D")).isEqualTo(3);
        assertThat(Utf8.length("\uDE00x")).isEqualTo(4);
    }

    @Test
    void aCutNeverEndsOnHalfAPair() {
        // 100 'a's, then pairs: wherever the budget falls, the prefix ends before or after a whole pair.
        String s = "a".repeat(100) + "\uD83D\uDE00".repeat(100);
        for (int bound = 140; bound < 180; bound++) {
            String cut = Utf8.bound(s, bound);
            String kept = cut.substring(0, cut.indexOf(" ... [cut"));
            assertThat(Character.isHighSurrogate(kept.charAt(kept.length() - 1))).as("bound %d", bound).isFalse();
            assertThat(cut.getBytes(StandardCharsets.UTF_8).length).as("bound %d", bound).isLessThanOrEqualTo(bound);
        }
    }

    @Test
    void aBoundTooSmallForTheMarkerCutsWithoutIt() {
        assertThat(Utf8.bound("abcdefghijklmnop", 4)).isEqualTo("abcd");
    }

    @Test
    void nullStaysNull() {
        assertThat(Utf8.bound(null, 10)).isNull();
    }
}
