package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class MessageIdsTest {

    @Test
    void isAVersion7UuidCarryingTheTimeAndTheRandomBits() {
        long millis = 1_795_000_000_123L;
        String id = MessageIds.of(millis, 0xABCL, 0x0123_4567_89AB_CDEFL);
        UUID uuid = UUID.fromString(id);
        assertThat(uuid.toString()).isEqualTo(id);
        assertThat(uuid.version()).isEqualTo(7);
        assertThat(uuid.variant()).isEqualTo(2);
        assertThat(uuid.getMostSignificantBits() >>> 16).isEqualTo(millis);
        assertThat(uuid.getMostSignificantBits() & 0xFFF).isEqualTo(0xABC);
        assertThat(uuid.getLeastSignificantBits() & 0x3FFF_FFFF_FFFF_FFFFL).isEqualTo(0x0123_4567_89AB_CDEFL);
    }

    @Test
    void freshIdsAreDistinctAndSortByCreationTime() throws InterruptedException {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 100_000; i++) {
            assertThat(seen.add(MessageIds.next())).isTrue();
        }
        String earlier = MessageIds.next();
        Thread.sleep(2);
        String later = MessageIds.next();
        assertThat(later).isGreaterThan(earlier);
    }
}
