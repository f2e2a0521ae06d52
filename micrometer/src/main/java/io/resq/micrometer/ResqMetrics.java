package io.resq.micrometer;

import io.micrometer.core.instrument.MeterRegistry;
import io.resq.Interceptor;
import io.resq.Msg;
import io.resq.Processor;
import io.resq.Queues;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiConsumer;

/**
 * Micrometer meters for everything a {@link Queues} sends and its processors handle. One line binds
 * it, and it covers every enqueue and every processor of those queues, including processors started
 * later:
 *
 * <pre>{@code
 * Queues queues = Queues.builder(transport).interceptor(ResqMetrics.of(registry)).build();
 * }</pre>
 *
 * <p>The meters (docs/observability.md lists them with every tag): counters
 * {@value #RECEIVED}, {@value #SUCCEEDED}, {@value #RETRIED}, {@value #REDELIVERED},
 * {@value #DEAD_LETTERED}, {@value #RELEASED} and {@value #SENDS_FAILED}; timers
 * {@value #HANDLER_DURATION} (each handler call) and {@value #SEND_DURATION} (each send, from the
 * first attempt to the broker's confirmation or the last failure); gauges {@value #IN_FLIGHT} and
 * {@value #CIRCUIT_STATE}. Processor meters are tagged {@code queue} and {@code group}
 * ({@value #NO_GROUP} when none was named); send meters {@code queue}; timers also {@code outcome}
 * ({@code success} or {@code failure}). Percentiles are off unless the {@link Builder} asks.
 *
 * <p>Thread-safe: meters are found in a map keyed by queue and group, made once, then updated from
 * whichever thread sends or handles (see {@link Interceptor} for which that is).
 */
public final class ResqMetrics implements Interceptor {

    /** Deliveries handed to a processor's handler (counter). */
    public static final String RECEIVED = "resq.messages.received";
    /** Deliveries whose handler returned normally, then acked (counter). */
    public static final String SUCCEEDED = "resq.messages.succeeded";
    /** In-process retries: handler calls that failed and were called again (counter). */
    public static final String RETRIED = "resq.messages.retried";
    /** Deliveries that failed and went back to the broker for a later delivery (counter). */
    public static final String REDELIVERED = "resq.messages.redelivered";
    /** Deliveries that failed and went to the dead-letter queue (counter). */
    public static final String DEAD_LETTERED = "resq.messages.dead.lettered";
    /** Deliveries handed back to the broker untouched: closing, circuit open, a refused copy (counter). */
    public static final String RELEASED = "resq.messages.released";
    /** Each handler call (timer; in-process retries are calls of their own). */
    public static final String HANDLER_DURATION = "resq.handler.duration";
    /** Each send, confirmed or failed for good (timer). */
    public static final String SEND_DURATION = "resq.send.duration";
    /** Sends that failed for good, after their retries (counter). */
    public static final String SENDS_FAILED = "resq.sends.failed";
    /** Messages a processor fetched and has not settled yet (gauge). */
    public static final String IN_FLIGHT = "resq.processor.in.flight";
    /** How many running processors of a queue and group are in the {@code state} tag's circuit state (gauge). */
    public static final String CIRCUIT_STATE = "resq.processor.circuit.state";
    /** The {@code group} tag of a processor with no group named. */
    public static final String NO_GROUP = "none";

    private final MeterRegistry registry;
    private final double[] percentiles;
    private final boolean histogram;
    private final ConcurrentMap<Key, HandlerMeters> handlerMeters = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, SendMeters> sendMeters = new ConcurrentHashMap<>();
    private final ConcurrentMap<Key, ProcessorGauges> gauges = new ConcurrentHashMap<>();

    private ResqMetrics(Builder b) {
        this.registry = b.registry;
        this.percentiles = b.percentiles;
        this.histogram = b.histogram;
    }

    /** Meters in {@code registry}, with every default (no percentiles, no histogram). */
    public static ResqMetrics of(MeterRegistry registry) {
        return builder(registry).build();
    }

    /** A builder for meters in {@code registry}. */
    public static Builder builder(MeterRegistry registry) {
        return new Builder(Objects.requireNonNull(registry, "registry must not be null"));
    }

    @Override
    public Send onSend(Msg<?> msg, BiConsumer<String, String> headers) {
        SendMeters m = sendMeters.computeIfAbsent(msg.queue(), q -> new SendMeters(registry, q, percentiles, histogram));
        return m::record;
    }

    @Override
    public Handling onHandle(Msg<?> msg, String group) {
        HandlerMeters m = handlerMeters.computeIfAbsent(new Key(msg.queue(), groupTag(group)),
                k -> new HandlerMeters(registry, k.queue(), k.group(), percentiles, histogram));
        m.received.increment();
        return new Handling() {
            @Override
            public <V> V call(Callable<V> handlerCall) throws Exception {
                long start = System.nanoTime();
                boolean ok = false;
                try {
                    V v = handlerCall.call();
                    ok = true;
                    return v;
                } finally {
                    m.call(ok, System.nanoTime() - start);
                }
            }

            @Override
            public void retrying(Throwable failure, int call, Duration delay) {
                m.retried.increment();
            }

            @Override
            public void completed(Outcome outcome, Throwable failure) {
                m.completed(outcome);
            }
        };
    }

    @Override
    public void onProcessorStarted(Processor<?> processor) {
        String group = groupTag(processor.health().group());
        gauges.computeIfAbsent(new Key(processor.queue(), group), k -> new ProcessorGauges(registry, k.queue(), k.group()))
                .add(processor);
    }

    static String groupTag(String group) {
        return group == null ? NO_GROUP : group;
    }

    /** A queue and a group tag. */
    private record Key(String queue, String group) {
    }

    /** Builds {@link ResqMetrics}. */
    public static final class Builder {
        private final MeterRegistry registry;
        private double[] percentiles = new double[0];
        private boolean histogram;

        private Builder(MeterRegistry registry) {
            this.registry = registry;
        }

        /**
         * Client-side percentiles for the two timers, each in [0, 1] (for example 0.5, 0.99). Default:
         * none, which is cheapest; prefer {@link #percentileHistogram(boolean)} where the backend
         * aggregates histograms.
         */
        public Builder publishPercentiles(double... values) {
            Objects.requireNonNull(values, "percentiles must not be null");
            for (double p : values) {
                if (!(p >= 0 && p <= 1)) {
                    throw new IllegalArgumentException("percentiles must be in [0, 1], was " + p);
                }
            }
            this.percentiles = Arrays.copyOf(values, values.length);
            return this;
        }

        /** Publishes a histogram for the two timers, for percentiles aggregated by the backend. Default false. */
        public Builder percentileHistogram(boolean value) {
            this.histogram = value;
            return this;
        }

        /** The interceptor to give {@link Queues.Builder#interceptor}. */
        public ResqMetrics build() {
            return new ResqMetrics(this);
        }
    }
}
