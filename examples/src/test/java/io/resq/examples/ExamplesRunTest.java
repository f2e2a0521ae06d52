package io.resq.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The runnable examples run to the end, print what they promise, and leave no resq thread
 * behind (so {@code exec:java} returns).
 */
class ExamplesRunTest {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void quickStartRunsToCompletion() throws Exception {
        String out = capture(QuickStart::run);

        assertThat(out).contains(
                "received order 1 again, delivery 2, same id: true",
                "order 1 handled on delivery 1",
                "order 2: call 1 failed (500 IllegalStateException: payment gateway down), retrying in process",
                "order 2 handled on delivery 1",
                "order 3: delivery 1 failed",
                "order 3 handled on delivery 2",
                "order 4: delivery 3 failed (402 ProcessingException: card declined), moved to orders_deadletter",
                "3 failures in its history",
                "status 500  java.lang.IllegalStateException: payment gateway down",
                "status 504  java.util.concurrent.TimeoutException",
                "status 402  io.resq.ProcessingException: card declined",
                "deadLetters() holds order 5 with 3 failed attempts",
                "send() of order 6 threw SendException",
                "3 succeeded, 5 retries, 3 redelivered, 1 dead-lettered",
                "done: queues closed");
        assertNoResqThreadLeft();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void wrapExistingConsumerRunsToCompletion() throws Exception {
        String out = capture(WrapExistingConsumer::run);

        assertThat(out).contains(
                "label printed for order 101 (alice)",
                "order 102: call 1 failed (500 IllegalStateException: label printer jammed)",
                "label printed for order 102 (bob)",
                "label printed for order 104 (carol)",
                "dead letter legacy-103: body kept as sent: {\"id\":103,\"customer\":",
                "status 400",
                "done: queues closed");
        assertThat(out).contains("{\"id\":104,\"customer\":\"carol\",\"amount\":9.90}")
                .as("resq writes bare JSON in RAW mode");
        assertNoResqThreadLeft();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void observabilityExamplePrintsItsMetersAndSpans() throws Exception {
        String out = capture(ObservabilityExample::run);

        assertThat(out).contains(
                "  resq.messages.received{group=none,queue=orders} 4",
                "  resq.messages.retried{group=none,queue=orders} 3",
                "  resq.messages.redelivered{group=none,queue=orders} 2",
                "  resq.messages.succeeded{group=none,queue=orders} 1",
                "  resq.messages.dead.lettered{group=none,queue=orders} 1",
                "  resq.handler.duration{group=none,outcome=failure,queue=orders} 6 calls",
                "  resq.handler.duration{group=none,outcome=success,queue=orders} 1 calls",
                "  resq.send.duration{outcome=success,queue=orders} 2 calls",
                "  checkout (INTERNAL)",
                "    send orders (PRODUCER)",
                "      process orders (CONSUMER) attempt 1 redelivered events [exception, resq.retry, exception]",
                "        charge order 1 (INTERNAL)",
                "        charge order 2 (INTERNAL)",
                "      process orders (CONSUMER) attempt 2 succeeded\n",
                "      process orders (CONSUMER) attempt 2 dead_lettered events [exception, resq.retry, exception]",
                "dead letter of order 2 keeps the traceparent it was sent with: true",
                "done: queues closed");
        assertThat(out).doesNotContain("resq.sends.failed");
        assertNoResqThreadLeft();
    }

    /** An example's run method. */
    interface Example {
        void run(PrintStream out) throws Exception;
    }

    private static String capture(Example example) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            example.run(out);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(text); // kept in the surefire report, for reading when an assertion fails
        return text;
    }

    private static void assertNoResqThreadLeft() throws InterruptedException {
        // Handler threads are interrupted on close but end a moment later: allow them a second.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        List<String> left;
        do {
            left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && t.getName().startsWith("resq-"))
                    .map(Thread::getName)
                    .toList();
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        assertThat(left).as("resq threads still running after close").isEmpty();
    }
}
