package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.MDC;

/** While a handler runs, SLF4J's MDC names the message; afterwards the worker's MDC is as it was. */
@Timeout(30)
class MdcTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).isTrue();
    }

    @Test
    void aHandlerSeesTheMessageInTheMdcOnEveryAttemptWithOrWithoutATimeout() throws Exception {
        for (Duration timeout : new Duration[] {null, Duration.ofSeconds(5)}) {
            String queue = timeout == null ? "plain" : "timed";
            List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
            ProcessorBuilder<String> b = queues.processor(queue, String.class).group("billing")
                    .retry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2)).redelivery(RetryPolicy.none())
                    .handler(s -> {
                        seen.add(MDC.getCopyOfContextMap());
                        if (seen.size() == 1) {
                            throw new IllegalStateException("once");
                        }
                    });
            if (timeout != null) {
                b.timeout(timeout);
            }
            b.start();
            Msg<String> sent = queues.enqueue(queue, String.class).send("x");

            waitFor(() -> seen.size() == 2);
            assertThat(seen).allSatisfy(m -> assertThat(m)
                    .containsEntry("resq.message.id", sent.id())
                    .containsEntry("resq.queue", queue)
                    .containsEntry("resq.group", "billing")
                    .containsEntry("resq.attempt", "1"));
        }
    }

    @Test
    void theMdcIsRestoredAfterwards() {
        MDC.put("resq.queue", "outer");
        MDC.remove("resq.group");
        try (io.resq.internal.MdcScope scope = io.resq.internal.MdcScope.open("id-1", "inner", "billing", 2)) {
            assertThat(MDC.get("resq.queue")).isEqualTo("inner");
            assertThat(MDC.get("resq.group")).isEqualTo("billing");
        }
        assertThat(MDC.get("resq.queue")).isEqualTo("outer");
        assertThat(MDC.get("resq.group")).isNull();
        assertThat(MDC.get("resq.message.id")).isNull();
        MDC.clear();
    }
}
