package io.resq.internal;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Fresh message ids: time-ordered UUIDs (version 7, RFC 9562) in the usual 36-character form, so
 * ids sort by creation time in a deduplication table's index. Not public API.
 *
 * <p>The 74 random bits come from {@link ThreadLocalRandom}: ids must be unique, not secret, and
 * {@code UUID.randomUUID()}'s shared {@code SecureRandom} cost a fifth of an envelope's encoding
 * and serialises every sending thread on one lock.
 */
public final class MessageIds {

    private MessageIds() {
    }

    /** A new id such as {@code 019ab1c2-3d4e-7f60-8a1b-2c3d4e5f6a7b}. */
    public static String next() {
        return of(System.currentTimeMillis(), ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
    }

    /** The version 7 UUID text for {@code unixMillis} and the random bits of {@code randA} and {@code randB}. */
    static String of(long unixMillis, long randA, long randB) {
        // 48 bits of time, version 7, 12 random bits | variant 10, 62 random bits.
        long high = (unixMillis << 16) | 0x7000L | (randA & 0x0FFFL);
        long low = (randB & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
        return new UUID(high, low).toString();
    }
}
