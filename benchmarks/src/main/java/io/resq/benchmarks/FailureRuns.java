package io.resq.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Runs one transport's 10%-failing scenario from the command line, the raw client's side and resq's
 * alternately, and prints every round. Args: {@code [records, default 10000] [policy: in-process or
 * broker, default in-process] [sides: raw, resq or raw,resq, default raw,resq] [rounds, default 2]}.
 * Each side first runs once with at most 1,000 records, not reported (JIT, connections). The raw
 * sides do the in-process policy only: with {@code broker}, resq alone runs.
 */
final class FailureRuns {

    private FailureRuns() {
    }

    /** The raw client's side of a scenario. */
    @FunctionalInterface
    interface RawSide {
        KafkaFailureScenario.Outcome run(int n) throws Exception;
    }

    /** resq's side of a scenario. */
    @FunctionalInterface
    interface ResqSide {
        KafkaFailureScenario.Outcome run(int n, KafkaFailureScenario.Policy policy) throws Exception;
    }

    static void run(String transport, String[] args, RawSide raw, ResqSide resq) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        KafkaFailureScenario.Policy policy = args.length > 1 ? KafkaFailureScenario.Policy.parse(args[1]) : KafkaFailureScenario.Policy.IN_PROCESS;
        String sides = args.length > 2 ? args[2].toLowerCase(Locale.ROOT) : "raw,resq";
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        boolean withRaw = sides.contains("raw") && policy == KafkaFailureScenario.Policy.IN_PROCESS;
        boolean withResq = sides.contains("resq");
        System.out.printf("%s, 10%% failing: %,d messages, one handler at a time, %s, %d round(s) per side%n",
                transport, n, policy.describe(), rounds);
        if (withRaw) {
            raw.run(Math.min(n, 1_000));
        }
        if (withResq) {
            resq.run(Math.min(n, 1_000), policy);
        }
        List<String> lines = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            if (withRaw) {
                KafkaFailureScenario.Outcome o = raw.run(n);
                o.print("raw");
                lines.add(String.format(Locale.ROOT, "raw  %,.0f msg/s", o.rate()));
            }
            if (withResq) {
                KafkaFailureScenario.Outcome o = resq.run(n, policy);
                o.print("resq");
                lines.add(String.format(Locale.ROOT, "resq %,.0f msg/s", o.rate()));
            }
        }
        System.out.println("rounds: " + String.join(" | ", lines));
    }
}
