package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.event.Level;

class ListenersTest {

    private static final Msg<String> MSG = Msg.builder("s3cr3t-payload").key("k").build();
    private static final Failure FAILURE = new Failure(500, "T", "db down", "", Instant.EPOCH);

    /** A custom Error, as a test framework or an assertion library might throw. */
    static final class ListenerBroke extends Error {
        private static final long serialVersionUID = 1L;

        ListenerBroke() {
            super("listener broke");
        }
    }

    /** Every callback of a listener. */
    private static final List<Consumer<Listener>> EVENTS = List.of(
            l -> l.onReceived(MSG),
            l -> l.onSucceeded(MSG, Duration.ofMillis(3)),
            l -> l.onRetried(MSG, FAILURE, 1, Duration.ofMillis(50)),
            l -> l.onRedelivered(MSG, FAILURE, Duration.ofSeconds(1)),
            l -> l.onDeadLettered(MSG, FAILURE, "orders_deadletter"),
            l -> l.onSendFailed(MSG, List.of(FAILURE)));

    /** A listener that throws {@code t} from every callback. */
    static Listener throwing(Throwable t) {
        return new Listener() {
            @Override
            public void onReceived(Msg<?> msg) {
                sneak(t);
            }

            @Override
            public void onSucceeded(Msg<?> msg, Duration duration) {
                sneak(t);
            }

            @Override
            public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
                sneak(t);
            }

            @Override
            public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
                sneak(t);
            }

            @Override
            public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
                sneak(t);
            }

            @Override
            public void onSendFailed(Msg<?> msg, List<Failure> failures) {
                sneak(t);
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> void sneak(Throwable t) throws E {
        throw (E) t;
    }

    /** Counts the events it sees. */
    static final class Counting implements Listener {
        final List<String> seen = new CopyOnWriteArrayList<>();

        @Override
        public void onReceived(Msg<?> msg) {
            seen.add("received");
        }

        @Override
        public void onSucceeded(Msg<?> msg, Duration duration) {
            seen.add("succeeded");
        }

        @Override
        public void onRetried(Msg<?> msg, Failure failure, int attempt, Duration delay) {
            seen.add("retried");
        }

        @Override
        public void onRedelivered(Msg<?> msg, Failure failure, Duration delay) {
            seen.add("redelivered");
        }

        @Override
        public void onDeadLettered(Msg<?> msg, Failure failure, String deadLetterQueue) {
            seen.add("deadLettered");
        }

        @Override
        public void onSendFailed(Msg<?> msg, List<Failure> failures) {
            seen.add("sendFailed");
        }
    }

    static Stream<Throwable> thrown() {
        return Stream.of(new IllegalStateException("boom"), new AssertionError("expected 1 but was 2"), new ListenerBroke(),
                new StackOverflowError(), new InterruptedException());
    }

    @ParameterizedTest
    @MethodSource("thrown")
    void aListenerAloneThatThrowsNeverEscapes(Throwable t) {
        for (Listener guarded : List.of(Listeners.of(throwing(t), null), Listeners.safe(throwing(t)))) {
            for (Consumer<Listener> event : EVENTS) {
                assertThatCode(() -> event.accept(guarded)).doesNotThrowAnyException();
            }
        }
        Thread.interrupted(); // the InterruptedException case keeps the thread's interrupt; clear it for the next test
    }

    @ParameterizedTest
    @MethodSource("thrown")
    void theOtherListenerSeesEveryEvent(Throwable t) {
        Counting counting = new Counting();
        Listener both = Listeners.of(throwing(t), counting);

        for (Consumer<Listener> event : EVENTS) {
            assertThatCode(() -> event.accept(both)).doesNotThrowAnyException();
        }

        assertThat(counting.seen).containsExactly("received", "succeeded", "retried", "redelivered", "deadLettered", "sendFailed");
        Thread.interrupted();
    }

    @Test
    void aListenerThatThrowsInterruptedExceptionLeavesTheThreadInterrupted() {
        Listeners.safe(throwing(new InterruptedException())).onReceived(MSG);
        assertThat(Thread.interrupted()).isTrue();
    }

    @Test
    void outOfMemoryIsNotSwallowed() {
        OutOfMemoryError oom = new OutOfMemoryError("test");
        assertThatThrownBy(() -> Listeners.safe(throwing(oom)).onReceived(MSG)).isSameAs(oom);
    }

    @Test
    void warnsOncePerListenerEvery10SecondsWithTheCountLeftOut() {
        RecordingLogger log = new RecordingLogger(Level.TRACE);
        AtomicLong now = new AtomicLong(1_000);
        Listener bad = throwing(new IllegalStateException("boom"));
        Listener other = throwing(new ListenerBroke());
        Listener guarded = Listeners.of(log, now::get, bad, other);

        for (int i = 0; i < 100; i++) {
            guarded.onReceived(MSG);
        }
        assertThat(log.lines()).hasSize(2).allSatisfy(l -> assertThat(l.level()).isEqualTo(Level.WARN));
        assertThat(log.lines().get(0).text()).contains(bad.getClass().getName(), "onReceived", IllegalStateException.class.getName());
        assertThat(log.lines().get(1).text()).contains(other.getClass().getName(), "onReceived", ListenerBroke.class.getName());

        now.addAndGet(TimeUnit.SECONDS.toNanos(9));
        guarded.onSucceeded(MSG, Duration.ZERO);
        assertThat(log.lines()).hasSize(2);

        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        guarded.onDeadLettered(MSG, FAILURE, "orders_deadletter");
        assertThat(log.lines()).hasSize(4);
        assertThat(log.lines().get(2).text()).contains("onDeadLettered", "and 100 times since the last warning");
    }

    @Test
    void theWarningNeverShowsTheMessageOrItsPayload() {
        RecordingLogger log = new RecordingLogger(Level.TRACE);
        Listener guarded = Listeners.of(log, System::nanoTime, throwing(new IllegalStateException("boom")));

        guarded.onReceived(MSG);

        assertThat(log.lines()).singleElement().satisfies(l -> assertThat(l.printed()).doesNotContain("s3cr3t", MSG.id()));
    }

    @Test
    void aGuardedListenerIsNotGuardedTwice() {
        RecordingLogger log = new RecordingLogger(Level.TRACE);
        Listener once = Listeners.of(log, System::nanoTime, throwing(new IllegalStateException("boom")));

        assertThat(Listeners.safe(once)).isSameAs(once);
        // Combined with another, it keeps its own rate limit: one warning for both wrappers together.
        Listener combined = Listeners.of(once, new Counting());
        once.onReceived(MSG);
        combined.onReceived(MSG);
        assertThat(log.lines()).hasSize(1);
    }

    @Test
    void noListenersIsFine() {
        assertThatCode(() -> Listeners.of(null, null).onReceived(MSG)).doesNotThrowAnyException();
        assertThatCode(() -> Listeners.of(Listener.NONE, null).onReceived(MSG)).doesNotThrowAnyException();
    }
}
