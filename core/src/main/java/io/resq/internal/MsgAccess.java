package io.resq.internal;

import io.resq.Msg;

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
