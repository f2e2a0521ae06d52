package io.resq.examples;

import io.resq.Failure;
import io.resq.Listener;
import io.resq.Msg;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * A {@link Listener} that prints one plain line per event, so the examples show what resq does
 * without a logging setup. Real services keep the default, {@link Listener#logging()}, or send
 * these events to their metrics.
 */
final class PrintingListener implements Listener {

    private final PrintStream out;

    PrintingListener(PrintStream out) {
        this.out = out;
    }

    @Override
    public void onSucceeded(Msg<?> msg, Duration duration) {
        out.printf("   [%s] %s handled on delivery %d -> acked%n", msg.queue(), describe(msg), msg.attempt());
    }

    @Override
    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
        out.printf("   [%s] %s: call %d failed (%s), retrying in process in %d ms%n",
                msg.queue(), describe(msg), attempt, brief(failure), delay.toMillis());
    }

    @Override
    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
        out.printf("   [%s] %s: delivery %d failed (%s), back to the broker, due again in %d ms%n",
                msg.queue(), describe(msg), msg.attempt(), brief(failure), delay.toMillis());
    }

    @Override
    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
        out.printf("   [%s] %s: delivery %d failed (%s), moved to %s%n",
                msg.queue(), describe(msg), msg.attempt(), brief(failure), deadLetterQueue);
    }

    @Override
    public void onSendFailed(Msg<?> msg, List<Failure> failures) {
        out.printf("   [%s] %s could not be sent after %d attempts (last: %s)%n",
                msg.queue(), describe(msg), failures.size(), brief(failures.get(failures.size() - 1)));
    }

    /** "order 3" for the examples' payload, the message id otherwise. */
    static String describe(Msg<?> msg) {
        return msg.payload() instanceof Order o ? "order " + o.id() : "message " + msg.id();
    }

    /** A failure on one line: status, short type name and message. */
    static String brief(Failure f) {
        String type = f.type().substring(f.type().lastIndexOf('.') + 1);
        return f.statusCode() + " " + type + ": " + f.message();
    }
}
