package io.resq.benchmarks;

import io.resq.ProcessorBuilder;

/**
 * {@code -Dresq.bench.prefetch=N}: the window of every processor a benchmark starts, instead of the
 * transport's default, to see what the window does to a run.
 */
final class BenchPrefetch {

    /** The system property that sets the window. */
    static final String PROPERTY = "resq.bench.prefetch";

    private BenchPrefetch() {
    }

    /** {@code builder} with the prefetch the property asks for, or unchanged when it is not set. */
    static <T> ProcessorBuilder<T> apply(ProcessorBuilder<T> builder) {
        Integer prefetch = Integer.getInteger(PROPERTY);
        return prefetch == null ? builder : builder.prefetch(prefetch);
    }
}
