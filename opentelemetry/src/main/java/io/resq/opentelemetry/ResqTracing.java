package io.resq.opentelemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.resq.Dequeue;
import io.resq.Interceptor;
import io.resq.Msg;
import io.resq.Queues;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;

/**
 * OpenTelemetry tracing for a {@link Queues}, following OpenTelemetry's messaging semantic
 * conventions. One line binds it:
 *
 * <pre>{@code
 * Queues queues = Queues.builder(transport).interceptor(ResqTracing.of(openTelemetry)).build();
 * }</pre>
 *
 * <ul>
 *   <li>Each send opens a {@link SpanKind#PRODUCER PRODUCER} span {@code send <queue>}, a child of
 *       the sending thread's current context, and writes the W3C trace context ({@code traceparent},
 *       {@code tracestate}) into the message's {@link Msg#headers() headers}. The span ends when the
 *       broker confirms the message, or with status ERROR when the send failed for good.</li>
 *   <li>Each delivery a processor handles gets a {@link SpanKind#CONSUMER CONSUMER} span
 *       {@code process <queue>} whose parent is the context read from the message's headers (so it
 *       belongs to the sender's trace), current while the handler runs: spans the handler starts
 *       nest under it. A redelivery is a new process span with a higher
 *       {@value Attributes#ATTEMPT}; in-process retries are events on the same span. A failed
 *       handler call is recorded as an exception event; a delivery that ends redelivered or
 *       dead-lettered has status ERROR.</li>
 *   <li>Redelivery and dead-letter copies keep the headers of the message as sent, so a dead letter
 *       carries the original trace context. A {@link Dequeue} gets no span (it has no handler):
 *       {@link #extract(Msg)} gives the sender's context to start one.</li>
 * </ul>
 *
 * <p>Attributes are listed in {@link Attributes} and docs/observability.md. Thread-safe and
 * stateless per message: spans travel in the objects resq hands back to the interceptor.
 */
public final class ResqTracing implements Interceptor {

    /** The instrumentation scope name of resq's spans. */
    public static final String INSTRUMENTATION_NAME = "io.resq";

    private final Tracer tracer;
    private final TextMapPropagator propagator;
    private final String system;

    private ResqTracing(Builder b) {
        this.tracer = b.openTelemetry.getTracer(INSTRUMENTATION_NAME);
        TextMapPropagator configured = b.openTelemetry.getPropagators().getTextMapPropagator();
        this.propagator = b.propagator != null ? b.propagator
                : configured == TextMapPropagator.noop() ? W3CTraceContextPropagator.getInstance() : configured;
        this.system = b.system;
    }

    /** Tracing through {@code openTelemetry}, with every default. */
    public static ResqTracing of(OpenTelemetry openTelemetry) {
        return builder(openTelemetry).build();
    }

    /** A builder for tracing through {@code openTelemetry}. */
    public static Builder builder(OpenTelemetry openTelemetry) {
        return new Builder(Objects.requireNonNull(openTelemetry, "openTelemetry must not be null"));
    }

    /**
     * The context the sender of {@code msg} wrote into its headers (the context of its
     * {@code send} span), or the root context when it carries none: for starting your own spans
     * around messages taken from a {@link Dequeue}.
     */
    public Context extract(Msg<?> msg) {
        return propagator.extract(Context.root(), msg.headers(), HeadersGetter.INSTANCE);
    }

    @Override
    public Send onSend(Msg<?> msg, BiConsumer<String, String> headers) {
        Span span = tracer.spanBuilder("send " + msg.queue())
                .setSpanKind(SpanKind.PRODUCER)
                .setAttribute(Attributes.SYSTEM, system)
                .setAttribute(Attributes.DESTINATION, msg.queue())
                .setAttribute(Attributes.OPERATION_TYPE, "send")
                .setAttribute(Attributes.OPERATION_NAME, "send")
                .setAttribute(Attributes.MESSAGE_ID, msg.id())
                .startSpan();
        propagator.inject(Context.current().with(span), headers, BiConsumer::accept);
        return (latency, failure) -> {
            if (failure != null) {
                failed(span, failure);
            }
            span.end();
        };
    }

    @Override
    public Handling onHandle(Msg<?> msg, String group) {
        var builder = tracer.spanBuilder("process " + msg.queue())
                .setParent(extract(msg))
                .setSpanKind(SpanKind.CONSUMER)
                .setAttribute(Attributes.SYSTEM, system)
                .setAttribute(Attributes.DESTINATION, msg.queue())
                .setAttribute(Attributes.OPERATION_TYPE, "process")
                .setAttribute(Attributes.OPERATION_NAME, "process")
                .setAttribute(Attributes.MESSAGE_ID, msg.id())
                .setAttribute(Attributes.ATTEMPT, (long) msg.attempt());
        if (group != null) {
            builder.setAttribute(Attributes.CONSUMER_GROUP, group);
        }
        Span span = builder.startSpan();
        return new Handling() {
            @Override
            public <V> V call(Callable<V> handlerCall) throws Exception {
                // On the thread that runs the handler: the handler's own spans nest under this one.
                try (Scope scope = span.makeCurrent()) {
                    return handlerCall.call();
                } catch (Exception | Error e) {
                    span.recordException(e);
                    throw e;
                }
            }

            @Override
            public void retrying(Throwable failure, int call, Duration delay) {
                span.addEvent(Attributes.RETRY_EVENT, io.opentelemetry.api.common.Attributes.of(
                        Attributes.CALL, (long) call, Attributes.RETRY_DELAY, delay.toMillis()));
            }

            @Override
            public void completed(Outcome outcome, Throwable failure) {
                span.setAttribute(Attributes.OUTCOME, outcome.name().toLowerCase(Locale.ROOT));
                if (outcome == Outcome.REDELIVERED || outcome == Outcome.DEAD_LETTERED) {
                    span.setStatus(StatusCode.ERROR, outcome == Outcome.REDELIVERED ? "redelivered" : "dead-lettered");
                    if (failure != null) {
                        span.setAttribute(Attributes.ERROR_TYPE, failure.getClass().getName());
                    }
                }
                span.end();
            }
        };
    }

    private static void failed(Span span, Throwable failure) {
        span.recordException(failure);
        span.setAttribute(Attributes.ERROR_TYPE, failure.getClass().getName());
        span.setStatus(StatusCode.ERROR, "send failed");
    }

    /** Builds {@link ResqTracing}. */
    public static final class Builder {
        private final OpenTelemetry openTelemetry;
        private TextMapPropagator propagator;
        private String system = "resq";

        private Builder(OpenTelemetry openTelemetry) {
            this.openTelemetry = openTelemetry;
        }

        /**
         * How the context is written into and read from headers. Default: the
         * {@link OpenTelemetry}'s configured propagator, or W3C trace context
         * ({@code traceparent}, {@code tracestate}) when it has none.
         */
        public Builder propagator(TextMapPropagator value) {
            this.propagator = Objects.requireNonNull(value, "propagator must not be null");
            return this;
        }

        /**
         * The {@value Attributes#SYSTEM} attribute: the semantic conventions' name of the broker
         * ({@code kafka}, {@code rabbitmq}, {@code aws_sqs}, ...). Default {@code resq}.
         */
        public Builder messagingSystem(String value) {
            Objects.requireNonNull(value, "messagingSystem must not be null");
            if (value.isBlank()) {
                throw new IllegalArgumentException("messagingSystem must not be blank, was '" + value + "'");
            }
            this.system = value;
            return this;
        }

        /** The interceptor to give {@link Queues.Builder#interceptor}. */
        public ResqTracing build() {
            return new ResqTracing(this);
        }
    }
}
