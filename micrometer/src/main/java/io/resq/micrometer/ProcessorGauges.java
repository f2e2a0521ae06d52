package io.resq.micrometer;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.resq.Processor;
import io.resq.ProcessorHealth;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The gauges of the processors of one queue and group, read from {@link Processor#health()} when
 * the registry asks. Several processors may share a queue and group (one closed, another started
 * later, or two at once): the in-flight gauge is their sum, and each circuit-state gauge counts the
 * running ones in its state. Closed processors are dropped at the next read.
 *
 * <p>Threads: {@link #add} on the thread that starts a processor, the reads on the registry's.
 */
final class ProcessorGauges {

    /** The states {@link ProcessorHealth#circuitState()} reports: resilience4j's, and DISABLED without a breaker. */
    static final List<String> STATES = List.of("CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "METRICS_ONLY", "DISABLED");

    private final List<Processor<?>> processors = new CopyOnWriteArrayList<>();

    ProcessorGauges(MeterRegistry registry, String queue, String group) {
        Tags tags = Tags.of("queue", queue, "group", group);
        Gauge.builder(ResqMetrics.IN_FLIGHT, this, ProcessorGauges::inFlight)
                .description("messages fetched and not yet settled").baseUnit("messages").tags(tags).register(registry);
        for (String state : STATES) {
            Gauge.builder(ResqMetrics.CIRCUIT_STATE, this, g -> g.inState(state))
                    .description("running processors whose circuit breaker is in this state")
                    .tags(tags.and("state", state.toLowerCase(Locale.ROOT))).register(registry);
        }
    }

    void add(Processor<?> processor) {
        processors.add(processor);
    }

    private double inFlight() {
        double sum = 0;
        for (ProcessorHealth h : running()) {
            sum += h.inFlight();
        }
        return sum;
    }

    private double inState(String state) {
        double n = 0;
        for (ProcessorHealth h : running()) {
            if (h.circuitState().equals(state)) {
                n++;
            }
        }
        return n;
    }

    private List<ProcessorHealth> running() {
        List<ProcessorHealth> all = new java.util.ArrayList<>(processors.size());
        for (Processor<?> p : processors) {
            ProcessorHealth h = p.health();
            if (h.running()) {
                all.add(h);
            } else {
                processors.remove(p);
            }
        }
        return all;
    }
}
