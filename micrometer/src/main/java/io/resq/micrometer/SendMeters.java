package io.resq.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The send meters of one queue; made once, then shared by every thread that sends to it. */
final class SendMeters {

    private final Timer success;
    private final Timer failure;
    private final Counter failed;

    SendMeters(MeterRegistry registry, String queue, double[] percentiles, boolean histogram) {
        Tags tags = Tags.of("queue", queue);
        success = timer(registry, tags.and("outcome", "success"), percentiles, histogram);
        failure = timer(registry, tags.and("outcome", "failure"), percentiles, histogram);
        failed = Counter.builder(ResqMetrics.SENDS_FAILED).description("sends that failed for good, after their retries")
                .baseUnit("messages").tags(tags).register(registry);
    }

    private static Timer timer(MeterRegistry registry, Tags tags, double[] percentiles, boolean histogram) {
        return Timer.builder(ResqMetrics.SEND_DURATION).description("a send, from its first attempt to the broker's confirmation or its last failure")
                .tags(tags).publishPercentiles(percentiles).publishPercentileHistogram(histogram).register(registry);
    }

    /** The send's outcome, on whichever thread completed it. */
    void record(Duration latency, Throwable error) {
        if (error == null) {
            success.record(latency);
        } else {
            failure.record(latency);
            failed.increment();
        }
    }
}
