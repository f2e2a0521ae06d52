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
 *
 * <p>With {@code -Dresq.bench.threads=true} a reading also takes every thread's CPU time and name,
 * and the per-message figures then list CPU and allocation per message by thread (names with
 * their trailing numbers and queue names folded, so a pool's threads add up): what a profile of
 * a phase starts from.
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

    private static final boolean BY_THREAD = Boolean.getBoolean("resq.bench.threads");

    private final long cpuNanos;
    private final long[] ids;
    private final long[] allocated;
    /** With {@link #BY_THREAD}: each thread's CPU time, or -1; else {@code null}. */
    private final long[] threadCpu;
    /** With {@link #BY_THREAD}: each thread's folded name; else {@code null}. */
    private final String[] names;

    private Cost(long cpuNanos, long[] ids, long[] allocated, long[] threadCpu, String[] names) {
        this.cpuNanos = cpuNanos;
        this.ids = ids;
        this.allocated = allocated;
        this.threadCpu = threadCpu;
        this.names = names;
    }

    /** A reading of the process's CPU time and every live thread's allocation counter, now. */
    static Cost now() {
        long[] ids = THREADS.getAllThreadIds();
        long[] allocated = THREADS.getThreadAllocatedBytes(ids);
        long[] cpu = null;
        String[] names = null;
        if (BY_THREAD) {
            cpu = new long[ids.length];
            names = new String[ids.length];
            java.lang.management.ThreadInfo[] infos = THREADS.getThreadInfo(ids);
            for (int i = 0; i < ids.length; i++) {
                cpu[i] = THREADS.getThreadCpuTime(ids[i]);
                names[i] = infos[i] == null ? "?" : fold(infos[i].getThreadName());
            }
        }
        return new Cost(OS.getProcessCpuTime(), ids, allocated, cpu, names);
    }

    /** A thread's name without what differs between the threads of one pool or one run. */
    static String fold(String name) {
        return name.replaceAll("bench_[a-z0-9]+_[0-9a-f]{8}", "Q").replaceAll("[-_ ]?\\d+$", "").replaceAll("-\\d+-", "-N-");
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
        java.util.Map<Long, Long> cpuBefore = new java.util.HashMap<>();
        if (threadCpu != null && start.threadCpu != null) {
            for (int i = 0; i < start.ids.length; i++) {
                cpuBefore.put(start.ids[i], start.threadCpu[i]);
            }
        }
        java.util.Map<String, double[]> byThread = new java.util.TreeMap<>();
        long bytes = 0;
        for (int i = 0; i < ids.length; i++) {
            if (allocated[i] < 0) {
                continue; // the thread ended between getAllThreadIds and the reading
            }
            Long b = before.get(ids[i]);
            long threadBytes = b == null || b < 0 ? allocated[i] : allocated[i] - b;
            bytes += threadBytes;
            if (threadCpu != null && threadCpu[i] >= 0) {
                Long c = cpuBefore.get(ids[i]);
                long cpu = c == null || c < 0 ? threadCpu[i] : threadCpu[i] - c;
                double[] sum = byThread.computeIfAbsent(names[i], k -> new double[2]);
                sum[0] += cpu / 1e3 / messages;
                sum[1] += (double) threadBytes / messages;
            }
        }
        StringBuilder detail = new StringBuilder();
        byThread.entrySet().stream().filter(e -> e.getValue()[0] >= 0.1 || e.getValue()[1] >= 50)
                .sorted((x, y) -> Double.compare(y.getValue()[0], x.getValue()[0]))
                .forEach(e -> detail.append(String.format("%n      %-55s %6.2f us CPU %,8.0f B", e.getKey(), e.getValue()[0], e.getValue()[1])));
        return new PerMessage((cpuNanos - start.cpuNanos) / 1e3 / messages, (double) bytes / messages, detail.toString());
    }

    /**
     * @param cpuUs      process CPU time per message, microseconds
     * @param allocBytes heap bytes allocated per message, all live threads
     * @param byThread   with {@code -Dresq.bench.threads=true}, one line per thread group; else empty
     */
    record PerMessage(double cpuUs, double allocBytes, String byThread) {

        static final PerMessage NONE = new PerMessage(Double.NaN, Double.NaN, "");

        /** CPU and allocation per message, without the breakdown by thread. */
        String summary() {
            return String.format("%.1f us CPU, %,.0f B alloc", cpuUs, allocBytes);
        }

        @Override
        public String toString() {
            return summary() + byThread;
        }
    }
}
