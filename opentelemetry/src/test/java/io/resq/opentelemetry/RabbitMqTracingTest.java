package io.resq.opentelemetry;

import static io.resq.testkit.Await.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.resq.Msg;
import io.resq.Queues;
import io.resq.RetryPolicy;
import io.resq.rabbitmq.RabbitMqTransport;
import io.resq.testkit.Brokers;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The trace context crosses a real broker: sent into RabbitMQ, redelivered through it once (its
 * delay levels), both process spans children of the send span ({@code RESQ_RABBITMQ_URI} or 127.0.0.1:5672).
 */
@Timeout(60)
class RabbitMqTracingTest {

    @Test
    void theTraceContextCrossesRabbitMqAndSurvivesARedelivery() throws Exception {
        Brokers.requireReachable("RabbitMQ", Brokers.rabbitMqUri(), "RESQ_RABBITMQ_URI");
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        OpenTelemetry otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build()).build();
        String queue = "resq_tracing_" + UUID.randomUUID().toString().replace("-", "");
        AtomicInteger calls = new AtomicInteger();
        try (Queues queues = Queues.builder(RabbitMqTransport.create(Brokers.rabbitMqUri()))
                .interceptor(ResqTracing.builder(otel).messagingSystem("rabbitmq").build()).build()) {
            queues.processor(queue, String.class).group("billing")
                    .retry(RetryPolicy.none())
                    .redelivery(RetryPolicy.fixed(Duration.ofMillis(100)).maxAttempts(2))
                    .handler(s -> {
                        if (calls.incrementAndGet() == 1) {
                            throw new IllegalStateException("first delivery fails");
                        }
                    }).start();
            Msg<String> sent = ResqTracingTest.sendInCallerContext(queues, queue, "a");

            waitFor("two process spans", () -> spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals("process " + queue)).count() == 2);
            SpanData send = spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals("send " + queue)).findFirst().orElseThrow();
            assertThat(send.getKind()).isEqualTo(SpanKind.PRODUCER);
            assertThat(send.getParentSpanId()).isEqualTo(ResqTracingTest.PARENT_SPAN_ID);
            assertThat(send.getAttributes().get(Attributes.SYSTEM)).isEqualTo("rabbitmq");
            assertThat(sent.headers()).containsEntry("tracestate", "vendor=x");

            List<SpanData> process = spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals("process " + queue)).toList();
            assertThat(process).allSatisfy(p -> {
                assertThat(p.getKind()).isEqualTo(SpanKind.CONSUMER);
                assertThat(p.getTraceId()).isEqualTo(ResqTracingTest.TRACE_ID);
                assertThat(p.getParentSpanId()).isEqualTo(send.getSpanId());
                assertThat(p.getParentSpanContext().isRemote()).isTrue();
                assertThat(p.getParentSpanContext().getTraceState().get("vendor")).isEqualTo("x");
                assertThat(p.getAttributes().get(Attributes.MESSAGE_ID)).isEqualTo(sent.id());
                assertThat(p.getAttributes().get(Attributes.CONSUMER_GROUP)).isEqualTo("billing");
                assertThat(p.getAttributes().get(Attributes.SYSTEM)).isEqualTo("rabbitmq");
            });
            assertThat(process).extracting(p -> p.getAttributes().get(Attributes.ATTEMPT)).containsExactly(1L, 2L);
            assertThat(process).extracting(p -> p.getAttributes().get(Attributes.OUTCOME)).containsExactly("redelivered", "succeeded");
            assertThat(process).extracting(p -> p.getStatus().getStatusCode()).containsExactly(StatusCode.ERROR, StatusCode.UNSET);
        }
    }
}
