package io.resq;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * An SLF4J logger that keeps what it is given, for tests of what resq logs: the test's SLF4J
 * binding writes to System.err, which a test cannot read back reliably.
 */
final class RecordingLogger extends LegacyAbstractLogger {

    private static final long serialVersionUID = 1L;

    /** One logged line: its level, its formatted text and the throwable logged with it, if any. */
    record Line(Level level, String text, Throwable thrown) {
        /** The text with the throwable's own string and stack trace, as an appender would print them. */
        String printed() {
            if (thrown == null) {
                return text;
            }
            java.io.StringWriter out = new java.io.StringWriter();
            thrown.printStackTrace(new java.io.PrintWriter(out));
            return text + System.lineSeparator() + out;
        }
    }

    private final Level threshold;
    private final List<Line> lines = new CopyOnWriteArrayList<>();

    /** A logger that records {@code threshold} and above. */
    RecordingLogger(Level threshold) {
        this.threshold = threshold;
        this.name = "recording";
    }

    List<Line> lines() {
        return List.copyOf(lines);
    }

    List<Line> at(Level level) {
        return lines.stream().filter(l -> l.level() == level).toList();
    }

    private boolean enabled(Level level) {
        return level.toInt() >= threshold.toInt();
    }

    @Override
    public boolean isTraceEnabled() {
        return enabled(Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
        return enabled(Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
        return enabled(Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
        return enabled(Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
        return enabled(Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
        return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments, Throwable thrown) {
        lines.add(new Line(level, MessageFormatter.basicArrayFormat(pattern, arguments), thrown));
    }
}
