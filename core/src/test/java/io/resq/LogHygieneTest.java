package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/** What the default listener logs: never a payload above DEBUG, and nothing that floods or forges log lines. */
class LogHygieneTest {

    private static final String SECRET = "s3cr3t-card-4111111111111111";
    private static final Instant DATE = Instant.parse("2026-11-23T10:15:31Z");

    private static Msg<String> msg() {
        return Msg.builder(SECRET).key("customer-7").attribute("trace", "t-1").build();
    }

    private static void everyEvent(Listener l, Msg<?> msg, Failure failure) {
        l.onReceived(msg);
        l.onSucceeded(msg, Duration.ofMillis(3));
        l.onRetried(msg, failure, 1, Duration.ofMillis(50));
        l.onRedelivered(msg, failure, Duration.ofSeconds(1));
        l.onDeadLettered(msg, failure, "orders_deadletter");
        l.onSendFailed(msg, List.of(failure));
    }

    private static boolean aboveDebug(RecordingLogger.Line line) {
        return line.level().toInt() > Level.DEBUG.toInt();
    }

    @Test
    void thePayloadIsLoggedAtDebugOnly() {
        RecordingLogger log = new RecordingLogger(Level.TRACE);

        everyEvent(new LoggingListener(log), msg(), new Failure(500, "java.lang.IllegalStateException", "db down", "", DATE));

        assertThat(log.lines()).filteredOn(LogHygieneTest::aboveDebug).hasSize(4)
                .allSatisfy(l -> assertThat(l.printed()).doesNotContain(SECRET).contains("db down"));
        assertThat(log.at(Level.DEBUG)).anySatisfy(l -> assertThat(l.text()).contains(SECRET));
    }

    @Test
    void withDebugOffThePayloadIsNeverEvenFormatted() {
        AtomicInteger formatted = new AtomicInteger();
        Object payload = new Object() {
            @Override
            public String toString() {
                formatted.incrementAndGet();
                return SECRET;
            }
        };
        RecordingLogger log = new RecordingLogger(Level.INFO);

        everyEvent(new LoggingListener(log), Msg.of(payload), new Failure(500, "E", "db down", "", DATE));

        assertThat(formatted).hasValue(0);
        assertThat(log.lines()).hasSize(4).allSatisfy(l -> assertThat(l.printed()).doesNotContain(SECRET));
    }

    @Test
    void aLongFailureMessageIsCut() {
        RecordingLogger log = new RecordingLogger(Level.INFO);
        String message = "x".repeat(Failure.MAX_MESSAGE_BYTES);

        everyEvent(new LoggingListener(log), msg(), new Failure(500, "E", message, "", DATE));

        assertThat(log.lines()).hasSize(4).allSatisfy(l -> {
            assertThat(l.text()).contains("x".repeat(LoggingListener.MAX_LOGGED_CHARS)).doesNotContain("x".repeat(LoggingListener.MAX_LOGGED_CHARS + 1));
            assertThat(l.text()).hasSizeLessThan(LoggingListener.MAX_LOGGED_CHARS + 250);
        });
    }

    @Test
    void aMultiLineFailureMessageStaysOnOneLine() {
        RecordingLogger log = new RecordingLogger(Level.INFO);

        everyEvent(new LoggingListener(log), msg(), new Failure(500, "E", "db down\n2026-11-23 ERROR forged line\r\u2028", "", DATE));

        assertThat(log.lines()).hasSize(4).allSatisfy(l -> assertThat(l.text()).doesNotContain("\n", "\r", "\u2028").contains("db down\\n2026"));
    }

    @Test
    void anIdFromTheBodyIsCutAndKeptOnOneLine() {
        // The envelope's "id" and "queue" are text from the body: a producer can put anything there.
        RecordingLogger log = new RecordingLogger(Level.INFO);
        Msg<String> odd = Msg.builder("p").id("id\nforged".repeat(1_000)).queue("q\nforged").build();

        everyEvent(new LoggingListener(log), odd, new Failure(500, "E", "db down", "", DATE));

        assertThat(log.lines()).hasSize(4).allSatisfy(l -> {
            assertThat(l.text()).doesNotContain("\n").hasSizeLessThan(3 * LoggingListener.MAX_LOGGED_CHARS + 250);
        });
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        String text = "a".repeat(LoggingListener.MAX_LOGGED_CHARS - 1) + "\uD83D\uDE00".repeat(10);

        String brief = LoggingListener.brief(text);

        assertThat(brief).startsWith("a".repeat(LoggingListener.MAX_LOGGED_CHARS - 1) + "... [219 chars in all]");
        assertThat(LoggingListener.brief("db down")).isEqualTo("db down");
    }

    @Test
    void aNullMessageAndAnEmptyHistoryAreLoggedPlainly() {
        RecordingLogger log = new RecordingLogger(Level.INFO);
        LoggingListener l = new LoggingListener(log);

        l.onDeadLettered(msg(), new Failure(400, "io.resq.internal.DecodeException", null, "", DATE), "orders_deadletter");
        l.onSendFailed(msg(), List.of());

        assertThat(log.lines()).extracting(RecordingLogger.Line::text)
                .satisfiesExactly(t -> assertThat(t).contains("400 io.resq.internal.DecodeException: null"), t -> assertThat(t).contains("(last: ?)"));
    }
}
