package io.resq.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link Clock} that moves only when told to, so that delayed redeliveries in unit tests take
 * no real time: pass it to {@code InMemoryTransport.create(clock)} and call {@link #advance(Duration)}.
 * Thread-safe.
 */
public final class ManualClock extends Clock {

    private final AtomicReference<Instant> now;
    private final ZoneId zone;

    private ManualClock(AtomicReference<Instant> now, ZoneId zone) {
        this.now = now;
        this.zone = zone;
    }

    /** A clock standing at the current system time. */
    public ManualClock() {
        this(Instant.now());
    }

    /** A clock standing at {@code start}. */
    public ManualClock(Instant start) {
        this(new AtomicReference<>(Objects.requireNonNull(start, "start must not be null")), ZoneOffset.UTC);
    }

    /** Moves the clock forward by {@code amount} and returns the new time. */
    public Instant advance(Duration amount) {
        Objects.requireNonNull(amount, "amount must not be null");
        if (amount.isNegative()) {
            throw new IllegalArgumentException("amount must be >= 0, was " + amount);
        }
        return now.updateAndGet(t -> t.plus(amount));
    }

    /** Sets the clock to {@code instant}, which must not be before the current time. */
    public void set(Instant instant) {
        Objects.requireNonNull(instant, "instant must not be null");
        now.updateAndGet(t -> {
            if (instant.isBefore(t)) {
                throw new IllegalArgumentException("a clock never goes back: " + instant + " is before " + t);
            }
            return instant;
        });
    }

    @Override
    public Instant instant() {
        return now.get();
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId newZone) {
        return new ManualClock(now, newZone);
    }
}
