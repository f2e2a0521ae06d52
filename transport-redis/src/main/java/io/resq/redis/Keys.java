package io.resq.redis;

/**
 * Redis key names of a queue. The stream is the queue name itself, so other producers and
 * consumers can use it directly. The sorted set of delayed messages shares the stream's hash slot
 * (same hash tag), so the atomic move script also works on Redis Cluster.
 */
final class Keys {

    private Keys() {
    }

    /** The stream of {@code queue}. */
    static String stream(String queue) {
        return queue;
    }

    /**
     * The delayed-message sorted set of {@code queue}: {@code {queue}:resq-delayed}, whose hash tag
     * is the whole queue name and so hashes like the stream; when the queue name carries its own
     * hash tag, {@code queue:resq-delayed} keeps that tag.
     */
    static String delayed(String queue) {
        return queue.indexOf('{') >= 0 ? queue + ":resq-delayed" : "{" + queue + "}:resq-delayed";
    }

    /**
     * The sorted set of {@code group}'s delayed redeliveries of {@code queue}: the queue's delayed
     * set name followed by {@code :<group>}, in the same hash slot. Only that group's receivers move it.
     */
    static String delayed(String queue, String group) {
        return delayed(queue) + ":" + group;
    }
}
