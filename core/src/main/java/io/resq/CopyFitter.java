package io.resq;

import io.resq.internal.MsgCodec;
import io.resq.spi.Outbound;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Encodes a retry or dead-letter copy so that it fits the broker: when a copy with its whole
 * history would be over {@link #limit()}, it drops stack traces (oldest first, the newest last),
 * then the middle of the history, keeping the first entry and the newest. A copy that still does
 * not fit is the caller's to handle ({@code null}). Stateless; any thread.
 */
final class CopyFitter {

    private final MsgCodec<?> codec;
    private final int limit;

    CopyFitter(MsgCodec<?> codec, int limit) {
        this.codec = codec;
        this.limit = limit;
    }

    /** The largest copy, body and headers, that this fitter lets through. */
    int limit() {
        return limit;
    }

    /** {@code copy} encoded to fit, or {@code null} when even the shrunk history is too large. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    <T> Outbound fit(Msg<T> copy, Duration delay) {
        MsgCodec<T> c = (MsgCodec<T>) (MsgCodec) codec;
        return fit(copy, m -> c.encode((Msg<T>) m, delay));
    }

    /** Like {@link #fit(Msg, Duration)} for a received message of any payload type, undelayed. */
    Outbound fitReceived(Msg<?> copy) {
        return fit(copy, m -> codec.encodeReceived(m, Duration.ZERO));
    }

    private Outbound fit(Msg<?> copy, java.util.function.Function<Msg<?>, Outbound> encode) {
        Outbound out = encode.apply(copy);
        if (size(out) <= limit) {
            return out;
        }
        List<Failure> history = new ArrayList<>(copy.errors());
        // Stack traces first, oldest first: the newest trace is what a reader looks at.
        for (int i = 0; i < history.size(); i++) {
            if (history.get(i).stackTrace().isEmpty()) {
                continue;
            }
            history.set(i, withoutStackTrace(history.get(i)));
            out = encode.apply(withHistory(copy, history));
            if (size(out) <= limit) {
                return out;
            }
        }
        // Then the middle of the history, keeping the first entry and the newest.
        while (history.size() > 2) {
            history.remove(1);
            out = encode.apply(withHistory(copy, history));
            if (size(out) <= limit) {
                return out;
            }
        }
        return null;
    }

    private static Msg<?> withHistory(Msg<?> copy, List<Failure> history) {
        return rebuild(copy, history);
    }

    private static <P> Msg<P> rebuild(Msg<P> copy, List<Failure> history) {
        return copy.copy().clearErrors().errors(history).build();
    }

    /** Body bytes plus header names and values: what counts against most brokers' limits. */
    static int size(Outbound out) {
        long n = out.body().length;
        for (Map.Entry<String, String> h : out.headers().entrySet()) {
            n += h.getKey().length() + (h.getValue() == null ? 0 : h.getValue().length());
        }
        return (int) Math.min(Integer.MAX_VALUE, n);
    }

    static Failure withoutStackTrace(Failure f) {
        return f.stackTrace().isEmpty() ? f : new Failure(f.statusCode(), f.type(), f.message(), "", f.date());
    }
}
