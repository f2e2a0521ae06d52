package io.resq.rabbitmq;

import com.rabbitmq.client.ShutdownSignalException;

/** Short, credential-free descriptions of client exceptions, for error messages and health. */
final class Errors {

    private Errors() {
    }

    /** The innermost useful message: the broker's reply text, or the root cause's class and message. */
    static String describe(Throwable e) {
        ShutdownSignalException s = shutdownSignal(e);
        if (s != null) {
            return s.getMessage();
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** The reply code of the channel close in {@code e}'s cause chain (404, 406, ...), or -1. */
    static int replyCode(Throwable e) {
        ShutdownSignalException s = shutdownSignal(e);
        if (s != null && s.getReason() instanceof com.rabbitmq.client.AMQP.Channel.Close close) {
            return close.getReplyCode();
        }
        return -1;
    }

    /** The {@link ShutdownSignalException} in {@code e}'s cause chain, or {@code null}. */
    static ShutdownSignalException shutdownSignal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ShutdownSignalException s) {
                return s;
            }
        }
        return null;
    }
}
