package io.resq.opentelemetry;

import static io.resq.testkit.Await.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.resq.Dequeue;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.SendException;
import io.resq.memory.InMemoryTransport;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The exact spans {@link ResqTracing} makes for each path a message can take, on the in-memory transport. */
@Timeout(60)
class ResqTracingTest {

    static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
    static final String PARENT_SPAN_ID = "00f067aa0ba902b7";

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private final OpenTelemetry otel = OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build()).build();
    private final Tracer userTracer = otel.getTracer("test");
    private final InMemoryTransport transport = InMemoryTransport.create();
    private final ResqTracing tracing = ResqTracing.of(otel);
    private final Queues queues = Queues.builder(transport).interceptor(tracing).build();

    @AfterEach
    void close() {
        queues.close();
    }

    /** The caller's context: a remote parent with a trace state, so that both W3C headers are written. */
    static Context callerContext() {
        SpanContext parent = SpanContext.createFromRemoteParent(TRACE_ID, PARENT_SPAN_ID, TraceFlags.getSampled(),
                TraceState.builder().put("vendor", "x").build());
        return Context.root().with(Span.wrap(parent));
    }

    static Msg<String> sendInCallerContext(Queues queues, String queue, String payload) {
        try (Scope s = callerContext().makeCurrent()) {
            return queues.enqueue(queue, String.class).send(payload);
        }
    }

    private List<SpanData> named(String name) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
    }

    private void waitForSpans(String name, int n) throws InterruptedException {
        waitFor(n + " spans " + name, () -> named(name).size() == n);
    }

    static void assertSendSpan(SpanData send, String queue, Msg<?> sent) {
        assertThat(send.getKind()).isEqualTo(SpanKind.PRODUCER);
        assertThat(send.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(send.getParentSpanId()).isEqualTo(PARENT_SPAN_ID);
        assertThat(send.getAttributes().asMap()).containsOnly(
                entry(Attributes.SYSTEM, "resq"), entry(Attributes.DESTINATION, queue), entry(Attributes.OPERATION_TYPE, "send"),
                entry(Attributes.OPERATION_NAME, "send"), entry(Attributes.MESSAGE_ID, sent.id()));
        assertThat(sent.headers()).containsEntry("traceparent", "00-" + TRACE_ID + "-" + send.getSpanId() + "-01")
                .containsEntry("tracestate", "vendor=x");
    }

    static java.util.Map.Entry<io.opentelemetry.api.common.AttributeKey<?>, Object> entry(io.opentelemetry.api.common.AttributeKey<?> k, Object v) {
        return java.util.Map.entry(k, v);
    }

    @Test
    void aSendAndItsProcessingAreOneTraceAndTheHandlersSpansNest() throws Exception {
        queues.processor("orders", String.class).group("billing").handler(s -> {
            Span mine = userTracer.spanBuilder("charge").startSpan();
            mine.end();
        }).start();
        Msg<String> sent = sendInCallerContext(queues, "orders", "a");

        waitForSpans("process orders", 1);
        SpanData send = named("send orders").get(0);
        assertSendSpan(send, "orders", sent);
        assertThat(send.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);

        SpanData process = named("process orders").get(0);
        assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
        assertThat(process.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(process.getParentSpanId()).isEqualTo(send.getSpanId());
        assertThat(process.getAttributes().asMap()).containsOnly(
                entry(Attributes.SYSTEM, "resq"), entry(Attributes.DESTINATION, "orders"), entry(Attributes.OPERATION_TYPE, "process"),
                entry(Attributes.OPERATION_NAME, "process"), entry(Attributes.MESSAGE_ID, sent.id()),
                entry(Attributes.CONSUMER_GROUP, "billing"), entry(Attributes.ATTEMPT, 1L), entry(Attributes.OUTCOME, "succeeded"));
        assertThat(process.getEvents()).isEmpty();
        assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);

        SpanData charge = named("charge").get(0);
        assertThat(charge.getParentSpanId()).isEqualTo(process.getSpanId());
        assertThat(charge.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(spans.getFinishedSpanItems()).hasSize(3);
    }

    @Test
    void retriesAreEventsAndARedeliveryIsASecondProcessSpanOfTheSameTrace() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        queues.processor("orders", String.class)
                .retry(RetryPolicy.fixed(Duration.ofMillis(2)).maxAttempts(2))
                .redelivery(RetryPolicy.fixed(Duration.ofMillis(10)).maxAttempts(2))
                .handler(s -> {
                    if (calls.incrementAndGet() <= 3) {
                        throw new IllegalStateException("call " + calls.get());
                    }
                }).start();
        Msg<String> sent = sendInCallerContext(queues, "orders", "a");

        waitForSpans("process orders", 2);
        SpanData send = named("send orders").get(0);
        List<SpanData> process = named("process orders");
        SpanData first = process.get(0);
        SpanData second = process.get(1);
        assertThat(process).allSatisfy(p -> {
            assertThat(p.getParentSpanId()).isEqualTo(send.getSpanId());
            assertThat(p.getTraceId()).isEqualTo(TRACE_ID);
            assertThat(p.getAttributes().get(Attributes.MESSAGE_ID)).isEqualTo(sent.id());
            assertThat(p.getAttributes().get(Attributes.CONSUMER_GROUP)).isNull();
        });

        assertThat(first.getAttributes().get(Attributes.ATTEMPT)).isEqualTo(1L);
        assertThat(first.getAttributes().get(Attributes.OUTCOME)).isEqualTo("redelivered");
        assertThat(first.getAttributes().get(Attributes.ERROR_TYPE)).isEqualTo("java.lang.IllegalStateException");
        assertThat(first.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(first.getEvents()).extracting(EventData::getName).containsExactly("exception", Attributes.RETRY_EVENT, "exception");
        EventData retry = first.getEvents().get(1);
        assertThat(retry.getAttributes().get(Attributes.CALL)).isEqualTo(1L);
        assertThat(retry.getAttributes().get(Attributes.RETRY_DELAY)).isEqualTo(2L);
        assertThat(first.getEvents().get(0).getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("exception.message")))
                .isEqualTo("call 1");

        assertThat(second.getAttributes().get(Attributes.ATTEMPT)).isEqualTo(2L);
        assertThat(second.getAttributes().get(Attributes.OUTCOME)).isEqualTo("succeeded");
        assertThat(second.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
        assertThat(second.getEvents()).extracting(EventData::getName).containsExactly("exception", Attributes.RETRY_EVENT);
    }

    @Test
    void aDeadLetterKeepsTheOriginalTraceContext() throws Exception {
        queues.processor("orders", String.class).retry(RetryPolicy.none()).redelivery(RetryPolicy.none())
                .handler(s -> {
                    throw new IllegalArgumentException("bad order");
                }).start();
        Msg<String> sent = sendInCallerContext(queues, "orders", "a");

        waitForSpans("process orders", 1);
        SpanData process = named("process orders").get(0);
        assertThat(process.getAttributes().get(Attributes.OUTCOME)).isEqualTo("dead_lettered");
        assertThat(process.getAttributes().get(Attributes.ERROR_TYPE)).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(process.getStatus().getDescription()).isEqualTo("dead-lettered");

        Msg<String> dead = transport.messages("orders_deadletter", String.class).get(0);
        assertThat(dead.id()).isEqualTo(sent.id());
        assertThat(dead.headers()).containsEntry("traceparent", sent.headers().get("traceparent"))
                .containsEntry("tracestate", "vendor=x");
        assertThat(Span.fromContext(tracing.extract(dead)).getSpanContext().getSpanId()).isEqualTo(named("send orders").get(0).getSpanId());
    }

    @Test
    void aFailedSendEndsItsSpanWithAnError() throws Exception {
        try (Queues quick = Queues.builder(transport).interceptor(tracing).sendRetry(RetryPolicy.fixed(Duration.ofMillis(1)).maxAttempts(2)).build()) {
            transport.failSends("orders", new IllegalStateException("broker down"));
            assertThatThrownBy(() -> sendInCallerContext(quick, "orders", "a")).isInstanceOf(SendException.class);
        }
        SpanData send = named("send orders").get(0);
        assertThat(send.getKind()).isEqualTo(SpanKind.PRODUCER);
        assertThat(send.getParentSpanId()).isEqualTo(PARENT_SPAN_ID);
        assertThat(send.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
        assertThat(send.getAttributes().get(Attributes.ERROR_TYPE)).isEqualTo(SendException.class.getName());
        assertThat(send.getEvents()).extracting(EventData::getName).containsExactly("exception");
        assertThat(named("process orders")).isEmpty();
    }

    @Test
    void aDequeueGetsTheSendersContextFromTheHeaders() throws Exception {
        Dequeue<String> in = queues.dequeue("orders", String.class);
        sendInCallerContext(queues, "orders", "a");
        Msg<String> got = in.messages().poll(10, TimeUnit.SECONDS);
        assertThat(got).isNotNull();
        SpanContext sender = Span.fromContext(tracing.extract(got)).getSpanContext();
        assertThat(sender.getTraceId()).isEqualTo(TRACE_ID);
        assertThat(sender.getSpanId()).isEqualTo(named("send orders").get(0).getSpanId());
        assertThat(sender.isRemote()).isTrue();
        in.ack(got);
        assertThat(named("process orders")).isEmpty();
    }

    @Test
    void aSendOutsideAnyTraceStartsOne() throws Exception {
        Msg<String> sent = queues.enqueue("orders", String.class).send("a");
        SpanData send = named("send orders").get(0);
        assertThat(send.getParentSpanContext().isValid()).isFalse();
        assertThat(sent.headers()).containsEntry("traceparent", "00-" + send.getTraceId() + "-" + send.getSpanId() + "-" + send.getSpanContext().getTraceFlags().asHex())
                .doesNotContainKey("tracestate");
        assertThatThrownBy(() -> ResqTracing.builder(otel).messagingSystem(" "))
                .hasMessage("messagingSystem must not be blank, was ' '");
    }
}
