package io.resq.rabbitmq;

import com.rabbitmq.client.Channel;
import java.util.TreeSet;

/**
 * Which deliveries of one channel are settled, so that acks can go to the broker together: one
 * {@code basic.ack} with {@code multiple=true} settles every unacknowledged delivery up to its
 * tag, which is only right once every delivery below it is settled here. The broker numbers a
 * channel's deliveries 1, 2, 3, ...; the <em>frontier</em> is the lowest tag not yet settled.
 * An ack of the frontier's delivery is held back (deferred) and goes out later as part of one
 * multiple ack; an ack above the frontier (an earlier delivery is still being handled) goes out at
 * once on its own, so a slow handler never holds other acks back. Nacks always go out at once.
 * The frontier starts at the channel's first delivery of its generation: amqp-client's recovery
 * goes on numbering where the old channel stopped.
 *
 * <p>Threads: used under the receiver's channel lock only; one ledger per channel and generation.
 */
final class AckLedger {

    /** The channel, and its generation in the receiver, whose deliveries this ledger counts. */
    private final Channel channel;
    private final long generation;
    /** Lowest tag not settled yet: every tag below it is settled (acked, deferred or nacked). */
    private long frontier;
    /** Tags above the frontier settled already (sent on their own, or nacked). */
    private final TreeSet<Long> settledAbove = new TreeSet<>();
    /** The highest deferred tag, 0 when none: the tag a multiple ack of the deferred ones carries. */
    private long deferredUpTo;
    private int deferred;

    /** @param firstTag the tag of {@code channel}'s first delivery in {@code generation} */
    AckLedger(Channel channel, long generation, long firstTag) {
        this.channel = channel;
        this.generation = generation;
        this.frontier = firstTag;
    }

    /** Whether this ledger counts the deliveries of {@code channel} in {@code generation}. */
    boolean isFor(Channel channel, long generation) {
        return this.channel == channel && this.generation == generation;
    }

    /**
     * Records an ack of {@code tag}; returns true when it is deferred (the caller sends nothing now),
     * false when the caller must ack it on its own at once.
     */
    boolean ack(long tag) {
        if (tag != frontier) {
            settled(tag);
            return false;
        }
        advance();
        deferredUpTo = tag;
        deferred++;
        return true;
    }

    /** Records that {@code tag} was settled at the broker already (nacked, or acked on its own). */
    void settled(long tag) {
        if (tag == frontier) {
            advance();
        } else if (tag > frontier) {
            settledAbove.add(tag);
        }
    }

    /** How many acks are deferred. */
    int deferred() {
        return deferred;
    }

    /**
     * The tag of one multiple ack that settles every deferred ack, or 0 when none is deferred; from
     * now on they count as sent.
     */
    long takeDeferred() {
        long upTo = deferred > 0 ? deferredUpTo : 0;
        deferred = 0;
        deferredUpTo = 0;
        return upTo;
    }

    private void advance() {
        frontier++;
        while (!settledAbove.isEmpty() && settledAbove.first() == frontier) {
            settledAbove.pollFirst();
            frontier++;
        }
    }
}
