package io.resq.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Outbound;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Send order across fresh, released and newly due messages, and keys held one at a time. */
class MemoryQueueTest {

    private final MovableClock clock = new MovableClock();
    private final MemoryQueue queue = new MemoryQueue(clock);
    private final Object holder = new Object();

    private static Outbound msg(String id, String key, Duration delay) {
        return new Outbound(id, key, Map.of(), id.getBytes(StandardCharsets.UTF_8), delay);
    }

    private List<String> take(int max) throws InterruptedException {
        return queue.take(holder, max, 0, () -> false).stream().map(s -> s.message.id()).toList();
    }

    private MemoryQueue.Stored takeOne() throws InterruptedException {
        return queue.take(holder, 1, 0, () -> false).get(0);
    }

    @Test
    void aReleasedMessageGoesBackBeforeLaterOnesAndNewOnesComeLast() throws Exception {
        queue.add(List.of(msg("a", null, Duration.ZERO), msg("b", null, Duration.ZERO), msg("c", null, Duration.ZERO)));
        MemoryQueue.Stored a = takeOne();
        MemoryQueue.Stored b = takeOne();
        assertThat(queue.settle(b, false)).isTrue();
        assertThat(queue.settle(a, false)).isTrue();
        queue.add(List.of(msg("d", null, Duration.ZERO)));

        assertThat(take(10)).containsExactly("a", "b", "c", "d");
    }

    @Test
    void aMessageThatFallsDueTakesItsSendOrderPlace() throws Exception {
        queue.add(List.of(msg("late", null, Duration.ofSeconds(1)), msg("n1", null, Duration.ZERO)));
        queue.add(List.of(msg("n2", null, Duration.ZERO)));
        assertThat(take(1)).containsExactly("n1");

        clock.advance(Duration.ofSeconds(1));

        assertThat(take(10)).containsExactly("late", "n2");
        assertThat(queue.snapshot()).extracting(Outbound::id).containsExactly("late", "n1", "n2");
    }

    @Test
    void aBusyKeyIsSkippedInBothPartsAndItsNextMessageComesOnceSettled() throws Exception {
        queue.add(List.of(msg("k1", "k", Duration.ZERO), msg("k2", "k", Duration.ZERO), msg("x", null, Duration.ZERO)));
        MemoryQueue.Stored first = takeOne();
        queue.settle(first, false); // k1 back among the released ones
        queue.add(List.of(msg("k3", "k", Duration.ZERO), msg("y", null, Duration.ZERO)));

        assertThat(take(10)).containsExactly("k1", "x", "y");
        assertThat(take(10)).as("k2 and k3 wait while k1 holds the key").isEmpty();
        assertThat(queue.settle(first, true)).isTrue(); // k1 taken again (the same stored message) and now acked
        assertThat(take(10)).containsExactly("k2");

        assertThat(queue.snapshot()).extracting(Outbound::id).containsExactly("k2", "x", "k3", "y");
    }

    /** A clock tests move by hand. */
    private static final class MovableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
