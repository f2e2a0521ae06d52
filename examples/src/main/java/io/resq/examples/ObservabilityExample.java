package io.resq.examples;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.resq.Enqueue;
import io.resq.Msg;
import io.resq.ProcessorHealth;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.memory.InMemoryTransport;
import io.resq.micrometer.ResqMetrics;
import io.resq.opentelemetry.Attributes;
import io.resq.opentelemetry.ResqTracing;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Meters and traces of a processor, on the in-memory transport: Micrometer's
 * {@link SimpleMeterRegistry} and an OpenTelemetry SDK that keeps its spans in memory. Run it with
 * {@code mvn -q install -DskipTests && mvn -q -pl examples exec:java -Dexec.mainClass=io.resq.examples.ObservabilityExample}.
 *
 * <p>Two orders are sent inside a {@code checkout} span. Order 1 fails twice (an in-process retry,
 * then a redelivery through the broker) and succeeds on its second delivery; order 2 always fails
 * and ends in the dead-letter queue, carrying the trace context it was sent with. The example then
 * prints every meter with a value and the spans as a tree.
 */
public final class ObservabilityExample {

    private static final long WAIT_SECONDS = 10;

    private ObservabilityExample() {
    }

    /** Runs the example, printing to standard output. */
    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the example, printing to {@code out}; throws if something did not happen as described. */
    static void run(PrintStream out) throws Exception {
        MeterRegistry registry = new SimpleMeterRegistry();
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        SdkTracerProvider tracerProvider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build();
        OpenTelemetry otel = OpenTelemetrySdk.builder().setTracerProvider(tracerProvider).build();
        Tracer tracer = otel.getTracer("shop");
        InMemoryTransport transport = InMemoryTransport.create();

        try (Queues queues = Queues.builder(transport)
                .interceptor(ResqMetrics.of(registry))     // meters, one line
                .interceptor(ResqTracing.of(otel))         // spans and W3C context in headers, one line
                .build()) {
            Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();
            queues.processor("orders", Order.class)
                    .retry(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(50)).maxAttempts(2))
                    .handler(order -> {
                        // The process span is current here: this span nests under it.
                        Span charge = tracer.spanBuilder("charge order " + order.id()).startSpan();
                        try {
                            int call = calls.computeIfAbsent(order.id(), id -> new AtomicInteger()).incrementAndGet();
                            if (order.id() == 2 || call <= 2) {
                                throw new IllegalStateException("payment gateway down");
                            }
                        } finally {
                            charge.end();
                        }
                    })
                    .start();

            Enqueue<Order> orders = queues.enqueue("orders", Order.class);
            Span checkout = tracer.spanBuilder("checkout").startSpan();
            Msg<Order> second;
            try (Scope scope = checkout.makeCurrent()) {
                orders.send(new Order(1, "alice", new BigDecimal("12.50")));
                second = orders.send(new Order(2, "bob", new BigDecimal("99.00")));
            } finally {
                checkout.end();
            }

            waitFor(() -> {
                ProcessorHealth h = queues.health().processors().get(0);
                return h.succeeded() == 1 && h.deadLettered() == 1 && h.inFlight() == 0;
            });
            // The last span ends just after the settle the health counters show.
            waitFor(() -> spans.getFinishedSpanItems().stream().filter(s -> s.getName().startsWith("process")).count() == 4);

            out.println("meters with a value:");
            printMeters(registry, out);
            out.println();
            out.println("spans (trace " + checkout.getSpanContext().getTraceId() + "):");
            printTree(spans.getFinishedSpanItems(), out);
            out.println();
            Msg<Order> dead = transport.messages("orders_deadletter", Order.class).get(0);
            out.println("dead letter of order " + dead.payload().id() + " keeps the traceparent it was sent with: "
                    + dead.headers().get("traceparent").equals(second.headers().get("traceparent")));
        } finally {
            tracerProvider.close();
        }
        out.println("done: queues closed");
    }

    private static void printMeters(MeterRegistry registry, PrintStream out) {
        registry.getMeters().stream()
                .sorted(Comparator.comparing((Meter m) -> m.getId().getName()).thenComparing(m -> m.getId().getTags().toString()))
                .forEach(m -> {
                    double value = m instanceof Timer t ? t.count() : m.measure().iterator().next().getValue();
                    if (value != 0) {
                        String tags = m.getId().getTags().stream().map(t -> t.getKey() + "=" + t.getValue()).collect(Collectors.joining(","));
                        out.printf("  %s{%s} %s%n", m.getId().getName(), tags,
                                m instanceof Timer ? (long) value + " calls" : Long.toString((long) value));
                    }
                });
    }

    private static void printTree(List<SpanData> all, PrintStream out) {
        List<SpanData> byStart = all.stream().sorted(Comparator.comparingLong(SpanData::getStartEpochNanos)).toList();
        for (SpanData root : byStart) {
            if (!root.getParentSpanContext().isValid()) {
                printSpan(root, byStart, 1, out);
            }
        }
    }

    private static void printSpan(SpanData span, List<SpanData> all, int depth, PrintStream out) {
        StringBuilder line = new StringBuilder("  ".repeat(depth)).append(span.getName()).append(" (").append(span.getKind()).append(')');
        Long attempt = span.getAttributes().get(Attributes.ATTEMPT);
        if (attempt != null) {
            line.append(" attempt ").append(attempt).append(' ').append(span.getAttributes().get(Attributes.OUTCOME));
        }
        List<String> events = span.getEvents().stream().map(EventData::getName).toList();
        if (!events.isEmpty()) {
            line.append(" events ").append(events);
        }
        out.println(line);
        for (SpanData child : all) {
            if (child.getParentSpanId().equals(span.getSpanId()) && child.getTraceId().equals(span.getTraceId())) {
                printSpan(child, all, depth + 1, out);
            }
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the orders were not settled within " + WAIT_SECONDS + " s");
            }
            Thread.sleep(10);
        }
    }
}
