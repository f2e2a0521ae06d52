package io.resq.benchmarks;

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every core (in-memory) benchmark — {@link InMemoryChannelBenchmark} under JMH, then
 * {@link InMemoryProcessorBenchmark} — and prints one table of resq against its plain baseline,
 * with the ratio. Ratios, not times, are the result: both sides run in the same JVM session on the
 * same machine, so machine speed cancels out and load from elsewhere mostly does.
 *
 * <p>Run from the repository root:
 * <pre>
 * benchmarks/run CoreBenchmarks         # full: about 7 minutes on 2 cores
 * benchmarks/run CoreBenchmarks quick   # smoke run: about 1 minute
 * </pre>
 * or through Maven, {@code mvn -q -pl benchmarks exec:exec@core [-Dresq.bench.mode=quick]} after
 * {@code mvn -q -pl benchmarks -am install -DskipTests} ({@code exec:exec}, not {@code exec:java}:
 * JMH forks JVMs with {@code java.class.path}).
 */
public final class CoreBenchmarks {

    /** How long and how often to measure. */
    record Plan(String name, int forks, int warmups, int iterations, int iterationSeconds,
                int processorMessages, int processorWarmups, int processorRounds) {

        static Plan of(String mode) {
            return switch (mode) {
                // Ten seconds of warm-up per fork: on a loaded 2-core machine resq's paths were still
                // speeding up after six seconds in a trial run, JIT threads competing for the cores.
                case "full" -> new Plan(mode, 2, 5, 5, 2, 100_000, 3, 5);
                case "quick" -> new Plan(mode, 1, 1, 2, 1, 20_000, 1, 2);
                default -> throw new IllegalArgumentException("mode must be full or quick, was " + mode);
            };
        }

        String describe() {
            return String.format("JMH %d forks x (%d warm-up + %d measured iterations of %d s), throughput mode; "
                            + "processor %,d messages/round, %d warm-up + %d measured rounds per concurrency (median)",
                    forks, warmups, iterations, iterationSeconds, processorMessages, processorWarmups, processorRounds);
        }
    }

    /** A JMH resq benchmark and the baseline method its ratio is taken against. */
    private record Pair(String label, String resqMethod, String baselineMethod) {
    }

    private static final List<Pair> CHANNEL_PAIRS = List.of(
            new Pair("send → take → ack, one at a time", "resqSendPingPong", "plainPingPong"),
            new Pair("send channel put → take → ack, one at a time", "resqChannelPingPong", "plainPingPong"),
            new Pair("send → take → ack, batches of " + InMemoryChannelBenchmark.BATCH, "resqSendBatch", "plainBatch"),
            new Pair("send channel put → take → ack, batches of " + InMemoryChannelBenchmark.BATCH, "resqChannelBatch", "plainBatch"),
            new Pair("diagnostic: send → take → ack, batches of " + InMemoryChannelBenchmark.BATCH + ", prefetch "
                    + InMemoryChannelBenchmark.WIDE_PREFETCH, "resqSendBatchWidePrefetch", "plainBatch"));

    private CoreBenchmarks() {
    }

    /** Argument: {@code full} (default) or {@code quick}. */
    public static void main(String[] args) throws Exception {
        Plan plan = Plan.of(args.length > 0 && !args[0].isBlank() ? args[0] : "full");
        String started = Instant.now().toString();
        double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long t0 = System.nanoTime();

        List<CoreRow> rows = new ArrayList<>(channelRows(plan));
        InMemoryProcessorBenchmark processor = new InMemoryProcessorBenchmark(plan.processorMessages(), plan.processorWarmups(),
                plan.processorRounds());
        rows.addAll(processor.run(1, 8));
        rows.addAll(processor.runObservability(1, 8));

        double loadAfter = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        System.out.println();
        System.out.println("## resq core benchmarks (" + plan.name() + ")");
        System.out.println();
        System.out.printf("- started %s, took %d s%n", started, seconds);
        System.out.printf("- JVM %s %s (%s), %d cores seen by the JVM, %s %s%n", System.getProperty("java.vm.name"),
                System.getProperty("java.runtime.version"), System.getProperty("java.vm.vendor"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("os.arch"));
        System.out.printf("- load average %.2f before, %.2f after%n", loadBefore, loadAfter);
        System.out.println("- " + plan.describe());
        System.out.println();
        System.out.println(CoreRow.markdownHeader());
        rows.forEach(r -> System.out.println(r.markdown()));
    }

    private static List<CoreRow> channelRows(Plan plan) throws RunnerException {
        Options options = new OptionsBuilder()
                .include("^" + Pattern.quote(InMemoryChannelBenchmark.class.getName()) + "\\.")
                .forks(plan.forks())
                .warmupIterations(plan.warmups())
                .warmupTime(TimeValue.seconds(plan.iterationSeconds()))
                .measurementIterations(plan.iterations())
                .measurementTime(TimeValue.seconds(plan.iterationSeconds()))
                .jvmArgs("-Xms1g", "-Xmx1g")
                .shouldFailOnError(true)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Map<String, Result<?>> byMethod = new HashMap<>();
        for (RunResult r : results) {
            String benchmark = r.getParams().getBenchmark();
            byMethod.put(benchmark.substring(benchmark.lastIndexOf('.') + 1), r.getPrimaryResult());
        }
        List<CoreRow> rows = new ArrayList<>();
        for (Pair p : CHANNEL_PAIRS) {
            Result<?> resq = byMethod.get(p.resqMethod());
            Result<?> baseline = byMethod.get(p.baselineMethod());
            if (resq == null || baseline == null) {
                throw new IllegalStateException("JMH returned no result for " + p.resqMethod() + " or " + p.baselineMethod());
            }
            rows.add(new CoreRow("JMH " + p.label(), resq.getScore(), baseline.getScore(),
                    "resq " + error(resq) + "; baseline " + error(baseline) + " (JMH 99.9% CI)"));
        }
        return rows;
    }

    /** JMH's error as a percentage of the score; JMH gives none for fewer than three iterations. */
    private static String error(Result<?> r) {
        double error = r.getScoreError();
        return Double.isNaN(error) ? "±n/a" : String.format("±%.0f%%", 100 * error / r.getScore());
    }
}
