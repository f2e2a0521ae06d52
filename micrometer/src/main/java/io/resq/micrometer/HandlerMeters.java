package io.resq.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.resq.Interceptor;
import java.util.concurrent.TimeUnit;

/** The counters and timers of one queue and group's processors; made once, then shared by their worker threads. */
final class HandlerMeters {

    final Counter received;
    final Counter retried;
    private final Counter succeeded;
    private final Counter redelivered;
    private final Counter deadLettered;
    private final Counter released;
    private final Timer success;
    private final Timer failure;

    HandlerMeters(MeterRegistry registry, String queue, String group, double[] percentiles, boolean histogram) {
        Tags tags = Tags.of("queue", queue, "group", group);
        received = counter(registry, ResqMetrics.RECEIVED, "deliveries handed to the handler", tags);
        retried = counter(registry, ResqMetrics.RETRIED, "handler calls that failed and were retried in process", tags);
        succeeded = counter(registry, ResqMetrics.SUCCEEDED, "deliveries handled and acked", tags);
        redelivered = counter(registry, ResqMetrics.REDELIVERED, "deliveries sent back to the broker after a failure", tags);
        deadLettered = counter(registry, ResqMetrics.DEAD_LETTERED, "deliveries sent to the dead-letter queue", tags);
        released = counter(registry, ResqMetrics.RELEASED, "deliveries handed back to the broker untouched", tags);
        success = timer(registry, tags.and("outcome", "success"), percentiles, histogram);
        failure = timer(registry, tags.and("outcome", "failure"), percentiles, histogram);
    }

    private static Counter counter(MeterRegistry registry, String name, String description, Tags tags) {
        return Counter.builder(name).description(description).baseUnit("messages").tags(tags).register(registry);
    }

    private static Timer timer(MeterRegistry registry, Tags tags, double[] percentiles, boolean histogram) {
        return Timer.builder(ResqMetrics.HANDLER_DURATION).description("one handler call").tags(tags)
                .publishPercentiles(percentiles).publishPercentileHistogram(histogram).register(registry);
    }

    void call(boolean ok, long nanos) {
        (ok ? success : failure).record(nanos, TimeUnit.NANOSECONDS);
    }

    void completed(Interceptor.Outcome outcome) {
        switch (outcome) {
            case SUCCEEDED -> succeeded.increment();
            case REDELIVERED -> redelivered.increment();
            case DEAD_LETTERED -> deadLettered.increment();
            case RELEASED -> released.increment();
        }
    }
}
