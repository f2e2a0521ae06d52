package io.resq.kafka;

/**
 * When a partition holds enough: at {@code records} unacked records or {@code bytes} of their
 * keys and values, whichever comes first, the poll loop pauses it; it resumes once both are back
 * to half. Counting bytes as well keeps large records from filling memory; counting records keeps
 * tiny ones from piling up as objects.
 *
 * @param records unacked records at which a partition is paused, at least 2
 * @param bytes   held key and value bytes at which a partition is paused, at least 2
 */
record HoldLimit(int records, long bytes) {

    /** Polls' worth of records a partition may hold. */
    static final int POLLS = 8;
    /** Fetches' worth of bytes a partition may hold. */
    static final int FETCHES = 2;

    HoldLimit {
        if (records < 2 || bytes < 2) {
            throw new IllegalArgumentException("hold limit must be at least 2 records and 2 bytes, was " + records + " and " + bytes);
        }
    }

    /**
     * The limit for a receiver: enough for the next fetch to be on its way while the last one is
     * handled. {@code maxPollRecords} times {@value #POLLS} records (not less than the processor's
     * prefetch) and {@value #FETCHES} times {@code max.partition.fetch.bytes}. Two polls' worth,
     * the earlier limit, left the handlers waiting for fetches: a processor with prefetch 256
     * drained a backlog at 130,000-140,000 messages a second with it and 190,000-255,000 at eight
     * (docs/benchmarks.md).
     */
    static HoldLimit of(int prefetch, int maxPollRecords, int maxPartitionFetchBytes) {
        int records = (int) Math.min(Integer.MAX_VALUE, (long) POLLS * maxPollRecords);
        return new HoldLimit(Math.max(Math.max(prefetch, 2), records), Math.max(2L, (long) FETCHES * maxPartitionFetchBytes));
    }

    boolean reached(int heldRecords, long heldBytes) {
        return heldRecords >= records || heldBytes >= bytes;
    }

    boolean backToHalf(int heldRecords, long heldBytes) {
        return heldRecords <= records / 2 && heldBytes <= bytes / 2;
    }
}
