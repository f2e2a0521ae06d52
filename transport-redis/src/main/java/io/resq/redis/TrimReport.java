package io.resq.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;

/**
 * Reports what the {@code maxLength} cap ({@link Scripts#CAP}) deleted before a group had read or
 * acked it: a WARN line per stream at most every {@link #WARN_INTERVAL_NANOS} (counts only, never
 * entries), and the counters the cap script keeps in Redis, read for {@code health()} and
 * {@link RedisTransport#deletedUnread(String)}.
 *
 * <p>Threads: {@link #record} runs on sending and fetching threads, {@link #logDue()} on the
 * transport's background thread; both lock this object, and neither does Redis work under it.
 */
final class TrimReport {

    private static final Logger log = LoggerFactory.getLogger(TrimReport.class);
    /** A stream losing entries on every send would otherwise log on every send. */
    static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final long maxLength;
    /** Per stream: when it was last logged, and what it lost since, per group {undelivered, unacked}. */
    private final Map<String, Long> lastWarned = new LinkedHashMap<>();
    private final Map<String, Map<String, long[]>> unlogged = new LinkedHashMap<>();

    TrimReport(long maxLength) {
        this.maxLength = maxLength;
    }

    /**
     * Takes the reply of one {@link Scripts#CAP} run on {@code queue}: {deleted, group,
     * undelivered, unacked, ...}. Logs at once if the stream was not logged within the interval.
     */
    void record(String queue, Object capReply) {
        List<?> r = (List<?>) capReply;
        if (r.size() < 4) {
            return; // nothing deleted, or nothing any group still needed
        }
        synchronized (this) {
            Map<String, long[]> lost = unlogged.computeIfAbsent(queue, q -> new TreeMap<>());
            for (int i = 1; i + 2 < r.size(); i += 3) {
                String group = new String((byte[]) r.get(i), StandardCharsets.UTF_8);
                long[] counts = lost.computeIfAbsent(group, g -> new long[2]);
                counts[0] += (Long) r.get(i + 1);
                counts[1] += (Long) r.get(i + 2);
            }
            Long last = lastWarned.get(queue);
            if (last == null || System.nanoTime() - last >= WARN_INTERVAL_NANOS) {
                warn(queue);
            }
        }
    }

    /** Logs what streams lost since their last line, for those whose interval has passed. Background thread. */
    synchronized void logDue() {
        long now = System.nanoTime();
        for (String queue : new ArrayList<>(unlogged.keySet())) {
            Long last = lastWarned.get(queue);
            if (last == null || now - last >= WARN_INTERVAL_NANOS) {
                warn(queue);
            }
        }
    }

    /** Caller holds the lock. */
    private void warn(String queue) {
        Map<String, long[]> lost = unlogged.remove(queue);
        if (lost == null || lost.isEmpty()) {
            return;
        }
        lastWarned.put(queue, System.nanoTime());
        StringBuilder groups = new StringBuilder();
        lost.forEach((group, c) -> groups.append(groups.length() == 0 ? "" : "; ").append("group ").append(group).append(": ")
                .append(c[0]).append(" never delivered, ").append(c[1]).append(" delivered but not acked"));
        log.warn("maxLength {} of stream {} deleted entries that consumer groups had not read or acked ({}); they cannot be "
                + "delivered any more. Raise maxLength, or use the safe trimming of trimInterval", maxLength, queue, groups);
    }

    /**
     * The counters in Redis, for each of {@code queues} that lost something: queue, then group,
     * then {entries never delivered, entries delivered but not acked}, summed over every
     * process whose cap deleted entries of that stream. One pipelined {@code HGETALL} per queue.
     */
    static Map<String, Map<String, long[]>> read(UnifiedJedis client, List<String> queues) {
        Map<String, Response<Map<String, String>>> replies = new LinkedHashMap<>();
        try (AbstractPipeline p = client.pipelined()) {
            for (String q : queues) {
                replies.put(q, p.hgetAll(Keys.trimmedUnread(q)));
            }
            p.sync();
        }
        Map<String, Map<String, long[]>> out = new TreeMap<>();
        replies.forEach((q, reply) -> {
            Map<String, long[]> groups = parse(reply.get());
            if (!groups.isEmpty()) {
                out.put(q, groups);
            }
        });
        return out;
    }

    /** Fields {@code undelivered:<group>} and {@code unacked:<group>} as group -> {undelivered, unacked}. */
    static Map<String, long[]> parse(Map<String, String> hash) {
        Map<String, long[]> groups = new TreeMap<>();
        hash.forEach((field, value) -> {
            int colon = field.indexOf(':');
            if (colon < 0) {
                return;
            }
            int slot = switch (field.substring(0, colon)) {
                case "undelivered" -> 0;
                case "unacked" -> 1;
                default -> -1;
            };
            if (slot >= 0) {
                groups.computeIfAbsent(field.substring(colon + 1), g -> new long[2])[slot] += Long.parseLong(value);
            }
        });
        groups.values().removeIf(c -> c[0] + c[1] == 0);
        return groups;
    }
}
