package io.resq;

import io.resq.spi.Health;
import java.util.List;

/**
 * What {@link Queues#health()} reports.
 *
 * @param transport  whether the broker answers
 * @param processors one entry per processor started from the {@link Queues}
 */
public record HealthReport(Health transport, List<ProcessorHealth> processors) {

    /** Copies the list. */
    public HealthReport {
        processors = List.copyOf(processors);
    }

    /** UP when the transport is up, no processor's circuit is open and every processor's receiver receives. */
    public boolean isUp() {
        return transport.isUp() && processors.stream().noneMatch(p -> p.circuitState().startsWith("OPEN") || p.circuitState().startsWith("FORCED_OPEN")
                || !p.receiver().isUp());
    }
}
