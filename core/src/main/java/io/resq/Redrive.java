package io.resq;

import com.fasterxml.jackson.databind.JsonNode;
import io.resq.internal.DecodeException;
import io.resq.internal.Headers;
import io.resq.internal.MsgCodec;
import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.spi.Sender;
import io.resq.spi.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of {@link Queues#redrive(String, String, Predicate)}: reads the dead-letter queue until
 * it has been quiet for a moment, moves what the filter accepts, and releases the rest at the end
 * (holding them meanwhile, so the run sees each message once). Runs on the caller's thread.
 */
final class Redrive {

    /** Attribute counting the redrives of a message; travels with it in both envelope modes. */
    static final String REDRIVES_ATTRIBUTE = "resq-redrives";
    /** The history entry type that records a redrive. */
    static final String HISTORY_TYPE = "resq.redrive";

    private static final Logger LOG = LoggerFactory.getLogger(Redrive.class);
    private static final Duration QUIET = Duration.ofMillis(500);
    private static final String GROUP = "resq-redrive";

    private final Transport transport;
    private final Queues.Settings settings;
    private final String from;
    private final String to;

    Redrive(Transport transport, Queues.Settings settings, String from, String to) {
        this.transport = transport;
        this.settings = settings;
        this.from = from;
        this.to = to;
    }

    int run(Predicate<Msg<?>> filter) {
        MsgCodec<JsonNode> envelopes = new MsgCodec<>(settings.mapper(), JsonNode.class, io.resq.EnvelopeMode.ENVELOPE, Integer.MAX_VALUE);
        MsgCodec<byte[]> raws = new MsgCodec<>(settings.mapper(), byte[].class, io.resq.EnvelopeMode.RAW, Integer.MAX_VALUE);
        Sender target = transport.sender(to);
        List<Delivery> kept = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        int moved = 0;
        try (Receiver receiver = transport.receiver(from, new ReceiverOptions(GROUP, 64))) {
            try {
                List<Delivery> batch;
                while (!(batch = receiver.poll(64, QUIET)).isEmpty()) {
                    for (Delivery d : batch) {
                        if (!seen.add(d.id() + "#" + d.deliveryCount())) {
                            kept.add(d);
                            continue;
                        }
                        boolean ok;
                        try {
                            boolean raw = Headers.FORMAT_RAW.equals(d.headers().get(Headers.FORMAT));
                            ok = raw ? moveOne(d, raws, target, filter) : moveOne(d, envelopes, target, filter);
                        } catch (RuntimeException | StackOverflowError e) {
                            // One bad dead letter (or a throwing filter) never stops the run: it stays where it is.
                            LOG.warn("leaving {} in {}: {}", d.id(), from, e.toString());
                            ok = false;
                        }
                        if (ok) {
                            moved++;
                        } else {
                            kept.add(d);
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                kept.forEach(Redrive::release);
            }
        }
        LOG.info("redrove {} messages from {} to {} ({} left there)", moved, from, to, kept.size());
        return moved;
    }

    private <P> boolean moveOne(Delivery d, MsgCodec<P> codec, Sender target, Predicate<Msg<?>> filter) throws InterruptedException {
        Msg<P> msg;
        try {
            msg = codec.decode(from, d);
        } catch (DecodeException e) {
            LOG.warn("leaving {} in {}: it is not a resq message ({})", d.id(), from, e.getMessage());
            return false;
        }
        int redrives = redrives(msg);
        if (redrives >= settings.maxRedrives()) {
            LOG.warn("leaving {} in {}: redriven {} times already (maxRedrives {})", msg.id(), from, redrives, settings.maxRedrives());
            return false;
        }
        if (!filter.test(msg)) {
            return false;
        }
        Failure record = new Failure(0, HISTORY_TYPE, "redriven from " + from + " to " + to + " (" + (redrives + 1) + " of "
                + settings.maxRedrives() + ")", "", settings.clock().instant());
        // A copy of the message as received: the payload's own JSON, never re-serialised.
        Msg<P> again = msg.copy().queue(to).clearErrors().errors(Msg.withFailure(msg.errors(), record))
                .attribute(REDRIVES_ATTRIBUTE, Integer.toString(redrives + 1)).attempt(1).build();
        try {
            // Back to the group that gave it up, when the dead letter names one: the other groups handled it.
            String group = msg.attributes().get(Settler.GROUP_ATTRIBUTE);
            target.send(codec.encode(again, Duration.ZERO).withGroup(group == null || group.isBlank() ? null : group))
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException ie) {
                throw ie;
            }
            LOG.error("could not redrive {} to {}; it stays in {}: {}", msg.id(), to, from, e.toString());
            return false;
        }
        try {
            d.ack();
        } catch (RuntimeException e) {
            // Already stored in the target: the dead letter may be redriven again later, a duplicate, never a loss.
            LOG.warn("ack of {} in {} failed after it was redriven to {}: {}", msg.id(), from, to, e.toString());
        }
        return true;
    }

    private static void release(Delivery d) {
        try {
            d.release();
        } catch (RuntimeException e) {
            LOG.warn("release of {} failed; the broker delivers it again when the receiver closes: {}", d.id(), e.toString());
        }
    }

    private static int redrives(Msg<?> msg) {
        try {
            return Integer.parseInt(msg.attributes().getOrDefault(REDRIVES_ATTRIBUTE, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
