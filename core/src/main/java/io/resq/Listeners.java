package io.resq;

import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Fans events out to several listeners; a listener that throws is logged and does not stop the others. */
final class Listeners implements Listener {

    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);
    private final List<Listener> all;

    private Listeners(List<Listener> all) {
        this.all = all;
    }

    static Listener of(Listener first, Listener second) {
        if (second == null || second == first) {
            return first;
        }
        return new Listeners(List.of(first, second));
    }

    private void each(java.util.function.Consumer<Listener> event) {
        for (Listener l : all) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("listener {} threw; ignoring it for this event", l, e);
            }
        }
    }

    @Override
    public void onReceived(Msg<?> msg) {
        each(l -> l.onReceived(msg));
    }

    @Override
    public void onSucceeded(Msg<?> msg, Duration duration) {
        each(l -> l.onSucceeded(msg, duration));
    }

    @Override
    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
        each(l -> l.onRetried(msg, failure, attempt, delay));
    }

    @Override
    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
        each(l -> l.onRedelivered(msg, failure, delay));
    }

    @Override
    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
        each(l -> l.onDeadLettered(msg, failure, deadLetterQueue));
    }

    @Override
    public void onSendFailed(Msg<?> msg, List<Failure> failures) {
        each(l -> l.onSendFailed(msg, failures));
    }
}
