package io.resq.redis;

import java.time.Duration;

/**
 * The options of one transport, fixed at build time and shared by its senders and receivers.
 *
 * @param visibilityTimeout how long an entry may stay pending without a keep-alive before another consumer reclaims it
 * @param maxLength         the cap on a stream's length, enforced (and its losses reported) by {@link Scripts#CAP}; 0 for none
 * @param deleteOnAck       whether an ack also deletes the entry ({@code XDEL})
 * @param maxBodySize       the largest body accepted, in bytes
 * @param trimInterval      how often the streams of this transport's receivers are trimmed of what every group acked; zero for never
 * @param newGroupsFromStart whether a group created by a receiver reads the stream from its oldest entry (else only what comes next)
 * @param idleConsumerTimeout how long a consumer owning nothing may stay idle before housekeeping deletes it
 * @param durability        the wait after each send and copy ({@code WAIT}/{@code WAITAOF}), or {@code null} for none
 */
record Settings(Duration visibilityTimeout, long maxLength, boolean deleteOnAck, int maxBodySize, Duration trimInterval,
                boolean newGroupsFromStart, Duration idleConsumerTimeout, DurabilityWait durability) {
}
