package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import io.github.resilience4j.timelimiter.TimeLimiterRegistry;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.MDC;

/** The interceptor hooks: headers and outcomes of sends, handler calls and outcomes of deliveries, and their guards. */
@Timeout(30)
class InterceptorTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private Queues queues;

    @AfterEach
    void close() {
        if (queues != null) {
            queues.close();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(c.getAsBoolean()).isTrue();
    }

    /** Records every hook as a line of text. */
    static final class Recording implements Interceptor {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public Send onSend(Msg<?> msg, BiConsumer<String, String> headers) {
            headers.accept("x-sent-by", "recording");
            events.add("send " + msg.queue());
            return (latency, failure) -> events.add("sent " + (failure == null ? "ok" : failure.getClass().getSimpleName())
                    + (latency.isNegative() ? " negative" : ""));
        }

        @Override
        public Handling onHandle(Msg<?> msg, String group) {
            events.add("handle " + msg.queue() + " " + group + " " + msg.headers().get("x-sent-by") + " mdc=" + MDC.get("resq.message.id").equals(msg.id()));
            return new Handling() {
                @Override
                public <V> V call(Callable<V> handlerCall) throws Exception {
                    events.add("call");
                    try {
                        return handlerCall.call();
                    } catch (Exception e) {
                        events.add("call failed " + e.getMessage());
                        throw e;
                    }
                }

                @Override
                public void retrying(Throwable failure, int call, Duration delay) {
                    events.add("retrying " + call + " " + failure.getMessage() + " " + delay.toMillis());
                }

                @Override
                public void completed(Outcome outcome, Throwable failure) {
                    events.add("completed " + outcome + (failure == null ? "" : " " + failure.getMessage()));
                }
            };
        }

        @Override
        public void onProcessorStarted(Processor<?> processor) {
            events.add("started " + processor.queue());
        }
    }

    @Test
    void aSendCarriesTheAddedHeadersAndReportsItsOutcome() throws Exception {
        Recording r = new Recording();
        queues = Queues.builder(transport).interceptor(r).build();
        Msg<String> sent = queues.enqueue("orders", String.class).send(Msg.builder("a").header("mine", "1").build());

        assertThat(sent.headers()).containsEntry("mine", "1").containsEntry("x-sent-by", "recording");
        assertThat(transport.messages("orders", String.class).get(0).headers()).containsEntry("x-sent-by", "recording");
        assertThat(r.events).containsExactly("send orders", "sent ok");

        transport.failSends("orders", new IllegalStateException("broker down"));
        assertThatThrownBy(() -> queues.enqueue("orders", String.class).send("b")).isInstanceOf(SendException.class);
        assertThat(r.events).containsExactly("send orders", "sent ok", "send orders", "sent SendException");
    }

    @Test
    void theSendChannelReportsEachMessage() throws Exception {
        Recording r = new Recording();
        queues = Queues.builder(transport).interceptor(r).build();
        Enqueue<String> out = queues.enqueue("orders", String.class);
        out.messages().put("a");
        out.messages().put("b");
        waitFor(() -> r.events.stream().filter(e -> e.equals("sent ok")).count() == 2);
        assertThat(transport.messages("orders", String.class)).allSatisfy(m -> assertThat(m.headers()).containsEntry("x-sent-by", "recording"));
    }

    @Test
    void aHandlerCallIsWrappedOnEveryAttemptAndTheDeliveryReportsHowItEnded() throws Exception {
        Recording r = new Recording();
        queues = Queues.builder(transport).interceptor(r).build();
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class).group("billing")
                .retry(RetryPolicy.fixed(Duration.ofMillis(5)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2))
                .handler(s -> {
                    if (calls.incrementAndGet() < 4) {
                        throw new IllegalStateException("fail " + calls.get());
                    }
                }).start();
        queues.enqueue("orders", String.class).send("a");

        waitFor(() -> r.events.stream().anyMatch(e -> e.startsWith("completed SUCCEEDED")));
        // The sender's "sent ok" and the worker's first "handle" race on two threads; order only within each side.
        assertThat(r.events).filteredOn(e -> e.startsWith("sent") || e.startsWith("send")).containsExactly("send orders", "sent ok");
        // The first delivery ends on a settle thread once its redelivery copy is confirmed, and the copy
        // may be handled before that: "completed REDELIVERED" falls anywhere between the first delivery's
        // last call and the second's end. Everything else is in this order.
        assertThat(r.events).filteredOn(e -> !e.startsWith("sent") && !e.startsWith("completed REDELIVERED")).containsExactly(
                "started orders", "send orders",
                "handle orders billing recording mdc=true", "call", "call failed fail 1", "retrying 1 fail 1 5", "call", "call failed fail 2",
                "handle orders billing recording mdc=true", "call", "call failed fail 3", "retrying 1 fail 3 5", "call",
                "completed SUCCEEDED");
        List<String> events = List.copyOf(r.events);
        assertThat(events).containsOnlyOnce("completed REDELIVERED fail 2");
        assertThat(events.indexOf("completed REDELIVERED fail 2"))
                .isGreaterThan(events.indexOf("call failed fail 2"))
                .isLessThan(events.indexOf("completed SUCCEEDED"));
    }

    @Test
    void aDeadLetterAndATimeoutAreReported() throws Exception {
        Recording r = new Recording();
        queues = Queues.builder(transport).interceptor(r).build();
        List<String> threads = new CopyOnWriteArrayList<>();
        queues.processor("orders", String.class)
                .retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .timeout(Duration.ofSeconds(5))
                .handler(s -> {
                    threads.add(Thread.currentThread().getName());
                    throw new IllegalArgumentException("bad order");
                }).start();
        queues.enqueue("orders", String.class).send("a");

        waitFor(() -> r.events.stream().anyMatch(e -> e.startsWith("completed")));
        assertThat(r.events).endsWith("call", "call failed bad order", "completed DEAD_LETTERED bad order");
        assertThat(threads).singleElement().satisfies(t -> assertThat(t).startsWith("resq-handler-orders"));
        assertThat(transport.messages("orders_deadletter", String.class)).singleElement()
                .satisfies(m -> assertThat(m.headers()).containsEntry("x-sent-by", "recording"));
    }

    /** An interceptor that misbehaves in the way {@code mode} says. */
    static final class Misbehaving implements Interceptor {
        final String mode;

        Misbehaving(String mode) {
            this.mode = mode;
        }

        @Override
        public Send onSend(Msg<?> msg, BiConsumer<String, String> headers) {
            if (mode.equals("reserved")) {
                headers.accept("resq-mine", "x");
                return null;
            }
            throw new IllegalStateException("onSend " + mode);
        }

        @Override
        public Handling onHandle(Msg<?> msg, String group) {
            return new Handling() {
                @Override
                @SuppressWarnings("unchecked")
                public <V> V call(Callable<V> handlerCall) throws Exception {
                    switch (mode) {
                        case "throwBefore" -> throw new IllegalStateException("before");
                        case "skip" -> {
                            return null;
                        }
                        case "swallow" -> {
                            try {
                                return handlerCall.call();
                            } catch (Exception e) {
                                return null;
                            }
                        }
                        case "twice" -> {
                            handlerCall.call();
                            return handlerCall.call();
                        }
                        default -> {
                            handlerCall.call();
                            throw new IllegalStateException("after");
                        }
                    }
                }

                @Override
                public void completed(Outcome outcome, Throwable failure) {
                    throw new IllegalStateException("completed");
                }
            };
        }
    }

    @Test
    void aMisbehavingInterceptorNeverChangesAnOutcome() throws Exception {
        for (String mode : List.of("throwBefore", "skip", "swallow", "twice", "throwAfter", "reserved")) {
            InMemoryTransport t = InMemoryTransport.create();
            try (Queues q = Queues.builder(t).interceptor(new Misbehaving(mode)).build()) {
                Msg<String> sent = q.enqueue("orders", String.class).send("a");
                q.enqueue("orders", String.class).send("poison");
                assertThat(sent.headers()).as(mode).isEmpty();
                AtomicInteger good = new AtomicInteger();
                AtomicInteger poison = new AtomicInteger();
                q.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                        .handler(s -> {
                            if (s.equals("poison")) {
                                poison.incrementAndGet();
                                throw new IllegalStateException("poison");
                            }
                            good.incrementAndGet();
                        }).start();
                waitFor(() -> t.messages("orders_deadletter", String.class).size() == 1 && t.messages("orders", String.class).isEmpty());
                // Give a wrongly repeated or lost call the time to show.
                Thread.sleep(100);
                assertThat(good.get()).as(mode).isEqualTo(1);
                assertThat(poison.get()).as(mode).isEqualTo(1);
                assertThat(q.health().processors().get(0).succeeded()).as(mode).isEqualTo(1);
            }
        }
    }

    @Test
    void processorsRegisterTheirRetryBreakerAndTimeLimiterWhereTheUserCanReachThem() {
        RetryRegistry retries = RetryRegistry.ofDefaults();
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.ofDefaults();
        TimeLimiterRegistry limiters = TimeLimiterRegistry.ofDefaults();
        queues = Queues.builder(transport).retryRegistry(retries).circuitBreakerRegistry(breakers).timeLimiterRegistry(limiters).build();
        Processor<String> first = queues.processor("orders", String.class).group("billing")
                .retry(RetryPolicy.fixed(Duration.ofMillis(5)).maxAttempts(4))
                .circuitBreaker(CircuitBreakerConfig.ofDefaults()).timeout(Duration.ofSeconds(3))
                .handler(s -> { }).start();

        assertThat(retries.find("resq-orders@billing")).hasValueSatisfying(r -> assertThat(r.getRetryConfig().getMaxAttempts()).isEqualTo(4));
        assertThat(breakers.find("resq-orders@billing")).isPresent();
        assertThat(limiters.find("resq-orders@billing"))
                .hasValueSatisfying(l -> assertThat(l.getTimeLimiterConfig().getTimeoutDuration()).isEqualTo(Duration.ofSeconds(3)));

        Processor<String> second = queues.processor("orders", String.class).group("billing")
                .retry(RetryPolicy.fixed(Duration.ofMillis(5)).maxAttempts(2)).handler(s -> { }).start();
        assertThat(retries.find("resq-orders@billing")).hasValueSatisfying(r -> assertThat(r.getRetryConfig().getMaxAttempts()).isEqualTo(2));
        first.close();
        // The first one's close leaves the entry that the second one replaced it with.
        assertThat(retries.find("resq-orders@billing")).isPresent();
        assertThat(breakers.find("resq-orders@billing")).isEmpty();
        second.close();
        assertThat(retries.getAllRetries()).isEmpty();
        assertThat(Map.of("limiters", limiters.getAllTimeLimiters().size())).containsEntry("limiters", 0);
    }
}
