package io.resq.redis;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import redis.clients.jedis.util.JedisClusterCRC16;

/**
 * Redis key names of a queue. The stream is the queue name itself, so other producers and
 * consumers can use it directly. The sorted sets of delayed messages hash to the stream's slot,
 * so the atomic move script also works on Redis Cluster, whatever the queue is called.
 *
 * <p>Redis Cluster hashes only a key's hash tag, the text between its first {@code {} and the
 * next {@code }}, when that text is not empty; otherwise the whole key. So:
 * <ul>
 *   <li>a queue with a hash tag ({@code x{orders}}) keeps it: {@code x{orders}:resq-delayed};</li>
 *   <li>a queue with no braces becomes the tag: {@code {orders}:resq-delayed};</li>
 *   <li>a queue with braces but no valid tag ({@code a{b}, {@code {}x}) is hashed whole, and no tag
 *       can contain it; its delayed set gets a short tag found to hash to the same slot:
 *       {@code {s42}:resq-delayed:a{b}.</li>
 * </ul>
 */
final class Keys {

    /** Tags found for queue names that cannot be their own tag; the search is short but not free. */
    private static final Map<String, String> SAME_SLOT_TAGS = new ConcurrentHashMap<>();

    private Keys() {
    }

    /** The stream of {@code queue}. */
    static String stream(String queue) {
        return queue;
    }

    /** The sorted set of the delayed messages of {@code queue} meant for every group, in the stream's slot. */
    static String delayed(String queue) {
        return inStreamSlot(queue, "resq-delayed");
    }

    /**
     * The hash counting, per group, the entries of {@code queue} that the {@code maxLength} cap
     * deleted before the group had read or acked them; in the stream's slot, so the trimming
     * script can update it.
     */
    static String trimmedUnread(String queue) {
        return inStreamSlot(queue, "resq-trimmed-unread");
    }

    /** A key named after {@code queue} and {@code suffix} that hashes to the slot of the stream {@code queue}. */
    private static String inStreamSlot(String queue, String suffix) {
        if (hasHashTag(queue)) {
            return queue + ":" + suffix;
        }
        if (queue.indexOf('{') < 0 && queue.indexOf('}') < 0) {
            return "{" + queue + "}:" + suffix;
        }
        return "{" + SAME_SLOT_TAGS.computeIfAbsent(queue, Keys::tagWithSlotOf) + "}:" + suffix + ":" + queue;
    }

    /**
     * The sorted set of {@code group}'s delayed redeliveries of {@code queue}: the queue's delayed
     * set name followed by {@code :<group>}, in the same hash slot. Only that group's receivers move it.
     */
    static String delayed(String queue, String group) {
        return delayed(queue) + ":" + group;
    }

    /** Whether Redis Cluster hashes {@code key} by a hash tag rather than whole. */
    static boolean hasHashTag(String key) {
        int open = key.indexOf('{');
        if (open < 0) {
            return false;
        }
        int close = key.indexOf('}', open + 1);
        return close > open + 1;
    }

    /** A short tag ({@code s0}, {@code s1}, ...) that hashes to the slot of {@code key} as a whole. */
    private static String tagWithSlotOf(String key) {
        int slot = JedisClusterCRC16.getSlot(key);
        for (int i = 0; ; i++) {
            String tag = "s" + i;
            if (JedisClusterCRC16.getSlot(tag) == slot) {
                return tag;
            }
        }
    }
}
