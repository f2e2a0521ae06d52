package io.resq;

import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The default {@link Listener}: SLF4J, ids and statuses at INFO and above, payloads at DEBUG only. */
final class LoggingListener implements Listener {

    static final LoggingListener INSTANCE = new LoggingListener();
    private static final Logger LOG = LoggerFactory.getLogger("io.resq");

    private LoggingListener() {
    }

    @Override
    public void onReceived(Msg<?> msg) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("received {} payload={}", msg, msg.payload());
        }
    }

    @Override
    public void onSucceeded(Msg<?> msg, Duration duration) {
        LOG.debug("handled {} in {} ms", msg, duration.toMillis());
    }

    @Override
    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
        LOG.info("retrying {} after attempt {} failed ({} {}: {}), next in {} ms",
                msg.id(), attempt, failure.statusCode(), failure.type(), failure.message(), delay.toMillis());
    }

    @Override
    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
        LOG.warn("redelivering {} of {} (delivery {} failed: {} {}: {}), due in {} ms",
                msg.id(), msg.queue(), msg.attempt(), failure.statusCode(), failure.type(), failure.message(), delay.toMillis());
    }

    @Override
    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
        LOG.error("dead-lettered {} of {} to {} after {} deliveries (last: {} {}: {})",
                msg.id(), msg.queue(), deadLetterQueue, msg.attempt(), failure.statusCode(), failure.type(), failure.message());
    }

    @Override
    public void onSendFailed(Msg<?> msg, List<Failure> failures) {
        Failure last = failures.isEmpty() ? null : failures.get(failures.size() - 1);
        LOG.error("could not send {} to {} after {} attempts (last: {})", msg.id(), msg.queue(), failures.size(),
                last == null ? "?" : last.type() + ": " + last.message());
    }
}
