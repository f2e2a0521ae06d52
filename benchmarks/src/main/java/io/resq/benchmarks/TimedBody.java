package io.resq.benchmarks;

import java.util.Arrays;

/**
 * The transport benchmarks' message body: about {@value #SIZE} bytes that start with the send time
 * in nanoseconds, so the receiving side measures end-to-end latency from the body alone.
 */
final class TimedBody {

    /** Body size in characters (all ASCII, so bytes too). */
    static final int SIZE = 200;

    private TimedBody() {
    }

    /** A body stamped with {@code sentAt} ({@link System#nanoTime()}). */
    static String of(long sentAt) {
        String prefix = sentAt + "|";
        return prefix + "x".repeat(SIZE - prefix.length());
    }

    /** The send time stamped into {@code body}. */
    static long sentAt(String body) {
        return Long.parseLong(body.substring(0, body.indexOf('|')));
    }

    /** The {@code p} quantile (0..1) of latencies in nanoseconds, in microseconds; sorts a copy. */
    static long percentileMicros(long[] latencyNanos, double p) {
        long[] sorted = latencyNanos.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n == 0 ? 0 : sorted[Math.min(n - 1, (int) (n * p))] / 1000;
    }
}
