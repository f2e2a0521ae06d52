package io.resq.jdbc;

import io.resq.Msg;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;

/** Writing numbered events through an outbox, and checking what a queue received. */
final class Rows {

    private Rows() {
    }

    /**
     * Writes {@code count} events in transactions of {@code perTransaction}, round-robin over
     * {@code keys} keys named {@code prefix0..}; each key's events are numbered 1, 2, 3... in commit order.
     */
    static void write(DataSource ds, Outbox outbox, String queue, String prefix, int keys, int count, int perTransaction)
            throws SQLException {
        int[] next = new int[keys];
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            for (int i = 0; i < count; i++) {
                int k = i % keys;
                String key = prefix + k;
                outbox.send(c, queue, Msg.builder(new Event(key, ++next[k])).key(key).build());
                if ((i + 1) % perTransaction == 0 || i == count - 1) {
                    c.commit();
                }
            }
        }
    }

    /** How many messages arrived more than once. */
    static int duplicates(List<Msg<Event>> received) {
        Set<String> ids = new HashSet<>();
        int dup = 0;
        for (Msg<Event> m : received) {
            if (!ids.add(m.id())) {
                dup++;
            }
        }
        return dup;
    }

    /** How many different messages arrived. */
    static int distinct(List<Msg<Event>> received) {
        Set<String> ids = new HashSet<>();
        received.forEach(m -> ids.add(m.id()));
        return ids.size();
    }

    /**
     * Each key's event numbers in the order of their first arrival; with order kept and nothing
     * lost, 1, 2, 3... for every key. (A batch sent again after a crash arrives again after the
     * first copy: only first arrivals say anything about order.)
     */
    static Map<String, List<Integer>> firstArrivals(List<Msg<Event>> received) {
        Set<String> seen = new HashSet<>();
        Map<String, List<Integer>> byKey = new HashMap<>();
        for (Msg<Event> m : received) {
            if (seen.add(m.id())) {
                byKey.computeIfAbsent(m.payload().key(), k -> new ArrayList<>()).add(m.payload().n());
            }
        }
        return byKey;
    }

    /** The keys whose first arrivals are not 1, 2, 3...; empty when every key kept its order. */
    static List<String> outOfOrder(List<Msg<Event>> received) {
        List<String> bad = new ArrayList<>();
        firstArrivals(received).forEach((key, ns) -> {
            for (int i = 0; i < ns.size(); i++) {
                if (ns.get(i) != i + 1) {
                    bad.add(key + " " + ns.subList(Math.max(0, i - 2), Math.min(ns.size(), i + 3)));
                    return;
                }
            }
        });
        return bad;
    }
}
