package io.resq.benchmarks;

import java.lang.management.ManagementFactory;

/**
 * What a phase of a transport benchmark cost this whole JVM per message: CPU time (all threads:
 * clients, resq's threads and, when embedded, the broker) and bytes allocated on the heap.
 *
 * <p>Allocation is the sum of {@code getThreadAllocatedBytes} over the threads alive at each end
 * of the phase. A thread that died between the two readings takes its bytes with it, so a phase
 * that starts and stops threads (a consumer closed inside it, a pool shrinking) reads low; a thread
 * born inside the phase counts fully, which is right. The benchmarks take both readings while the
 * phase's threads are running, so only short-lived helper threads are missed. A thread alive at
 * the start and gone at the end would make the difference negative for it; such threads are left
 * out of both sums by matching ids.
 */
final class Cost {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    static {
        if (THREADS.isThreadAllocatedMemorySupported() && !THREADS.isThreadAllocatedMemoryEnabled()) {
            THREADS.setThreadAllocatedMemoryEnabled(true);
        }
    }

    private final long cpuNanos;
    private final long[] ids;
    private final long[] allocated;

    private Cost(long cpuNanos, long[] ids, long[] allocated) {
        this.cpuNanos = cpuNanos;
        this.ids = ids;
        this.allocated = allocated;
    }

    /** A reading of the process's CPU time and every live thread's allocation counter, now. */
    static Cost now() {
        long[] ids = THREADS.getAllThreadIds();
        long[] allocated = THREADS.getThreadAllocatedBytes(ids);
        return new Cost(OS.getProcessCpuTime(), ids, allocated);
    }

    /** Process CPU time so far, in nanoseconds. */
    static long cpuNanos() {
        return OS.getProcessCpuTime();
    }

    /**
     * CPU and allocation per message between {@code start} and this reading.
     *
     * @param messages messages the phase moved
     */
    PerMessage since(Cost start, int messages) {
        java.util.Map<Long, Long> before = new java.util.HashMap<>(start.ids.length * 2);
        for (int i = 0; i < start.ids.length; i++) {
            before.put(start.ids[i], start.allocated[i]);
        }
        long bytes = 0;
        for (int i = 0; i < ids.length; i++) {
            if (allocated[i] < 0) {
                continue; // the thread ended between getAllThreadIds and the reading
            }
            Long b = before.get(ids[i]);
            bytes += b == null || b < 0 ? allocated[i] : allocated[i] - b;
        }
        return new PerMessage((cpuNanos - start.cpuNanos) / 1e3 / messages, (double) bytes / messages);
    }

    /**
     * @param cpuUs      process CPU time per message, microseconds
     * @param allocBytes heap bytes allocated per message, all live threads
     */
    record PerMessage(double cpuUs, double allocBytes) {

        static final PerMessage NONE = new PerMessage(Double.NaN, Double.NaN);

        @Override
        public String toString() {
            return String.format("%.1f us CPU, %,.0f B alloc", cpuUs, allocBytes);
        }
    }
}
