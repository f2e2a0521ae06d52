package io.resq.internal;

import io.resq.Failure;
import io.resq.Msg;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The codec's door into {@link Msg}'s package-private state: the {@link Received} form a decoded
 * message keeps for its copies. {@code Msg} installs the accessor when its class initialises.
 * Not public API.
 */
public final class MsgAccess {

    /** Implemented by {@code Msg}. */
    public interface Accessor {
        /** Sets the received form the built message will carry. */
        void origin(Msg.Builder<?> builder, Received received);

        /** The received form of {@code msg}, or {@code null} for a message resq did not receive. */
        Received origin(Msg<?> msg);

        /**
         * A received message made of parts the caller made for it alone and hands over (the maps
         * are wrapped, not copied), checked as {@code Msg.Builder} would check them: ids not
         * blank, attribute names not blank, no null values, no reserved header names.
         */
        <P> Msg<P> received(P payload, String id, String queue, String category, String key, Instant dispatchedAt,
                            Map<String, String> attributes, Map<String, String> headers, List<Failure> errors, int attempt,
                            Received origin);
    }

    private static volatile Accessor accessor;

    private MsgAccess() {
    }

    /** Called once, by {@code Msg}'s static initialiser. */
    public static void install(Accessor value) {
        accessor = value;
    }

    static Accessor get() {
        Accessor a = accessor;
        if (a == null) {
            try {
                Class.forName(Msg.class.getName(), true, Msg.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            a = accessor;
        }
        return a;
    }

    /** The received form of {@code msg}, or {@code null}. */
    public static Received origin(Msg<?> msg) {
        return get().origin(msg);
    }
}
