package io.resq;

import io.resq.spi.Health;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The default {@link Listener}: SLF4J, ids and statuses at INFO and above, payloads at DEBUG only.
 *
 * <p>Above DEBUG, text that a message or a failure brings (the id and queue read from an
 * envelope, a failure's type and message) is logged {@link #brief brief}: at most
 * {@value #MAX_LOGGED_CHARS} characters and on one line, so that a 2 KiB failure message does not
 * flood the log and a line break in it cannot forge a log line.
 */
final class LoggingListener implements Listener {

    /** The most characters of one text value logged above DEBUG. */
    static final int MAX_LOGGED_CHARS = 200;

    static final LoggingListener INSTANCE = new LoggingListener(LoggerFactory.getLogger("io.resq"));
    private final Logger log;

    /** A listener logging to {@code log}; tests pass a logger that records. */
    LoggingListener(Logger log) {
        this.log = log;
    }

    @Override
    public void onReceived(Msg<?> msg) {
        if (log.isDebugEnabled()) {
            log.debug("received {} payload={}", msg, msg.payload());
        }
    }

    @Override
    public void onSucceeded(Msg<?> msg, Duration duration) {
        if (log.isDebugEnabled()) {
            log.debug("handled {} in {} ms", msg, duration.toMillis());
        }
    }

    @Override
    public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
        if (log.isInfoEnabled()) {
            log.info("retrying {} after attempt {} failed ({}), next in {} ms", brief(msg.id()), attempt, describe(failure), delay.toMillis());
        }
    }

    @Override
    public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
        if (log.isWarnEnabled()) {
            log.warn("redelivering {} of {} (delivery {} failed: {}), due in {} ms", brief(msg.id()), brief(msg.queue()), msg.attempt(),
                    describe(failure), delay.toMillis());
        }
    }

    @Override
    public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
        if (log.isErrorEnabled()) {
            log.error("dead-lettered {} of {} to {} after {} deliveries (last: {})", brief(msg.id()), brief(msg.queue()), deadLetterQueue,
                    msg.attempt(), describe(failure));
        }
    }

    @Override
    public void onSendFailed(Msg<?> msg, List<Failure> failures) {
        if (log.isErrorEnabled()) {
            Failure last = failures.isEmpty() ? null : failures.get(failures.size() - 1);
            log.error("could not send {} to {} after {} attempts (last: {})", brief(msg.id()), brief(msg.queue()), failures.size(),
                    last == null ? "?" : brief(last.type()) + ": " + brief(last.message()));
        }
    }

    @Override
    public void onReceiverStateChanged(String queue, String group, Health state) {
        // The transport logs the cause itself; this line ties it to the queue and group.
        if (state.isUp()) {
            log.info("receiver of {} (group {}) receives again", brief(queue), brief(group));
        } else {
            log.warn("receiver of {} (group {}) cannot receive: {}", brief(queue), brief(group), brief(state.detail()));
        }
    }

    private static String describe(Failure f) {
        return f.statusCode() + " " + brief(f.type()) + ": " + brief(f.message());
    }

    /**
     * {@code s} cut to {@value #MAX_LOGGED_CHARS} characters (never inside a surrogate pair) with
     * line breaks and other control characters escaped; {@code null} as {@code "null"}.
     */
    static String brief(String s) {
        if (s == null) {
            return "null";
        }
        int end = s.length();
        if (end > MAX_LOGGED_CHARS) {
            end = Character.isHighSurrogate(s.charAt(MAX_LOGGED_CHARS - 1)) ? MAX_LOGGED_CHARS - 1 : MAX_LOGGED_CHARS;
        }
        int first = firstToEscape(s, end);
        if (first == end && end == s.length()) {
            return s;
        }
        StringBuilder out = new StringBuilder(end + 32).append(s, 0, first);
        for (int i = first; i < end; i++) {
            escape(out, s.charAt(i));
        }
        if (end < s.length()) {
            out.append("... [").append(s.length()).append(" chars in all]");
        }
        return out.toString();
    }

    private static int firstToEscape(String s, int end) {
        for (int i = 0; i < end; i++) {
            if (needsEscape(s.charAt(i))) {
                return i;
            }
        }
        return end;
    }

    // Line and paragraph separators too: some log viewers break lines on them.
    private static boolean needsEscape(char c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
    }

    private static void escape(StringBuilder out, char c) {
        if (!needsEscape(c)) {
            out.append(c);
        } else if (c == '\n') {
            out.append("\\n");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c == '\t') {
            out.append("\\t");
        } else {
            out.append(String.format("\\u%04x", (int) c));
        }
    }
}
