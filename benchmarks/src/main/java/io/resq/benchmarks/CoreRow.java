package io.resq.benchmarks;

/**
 * One line of the core summary: resq and its plain baseline, both measured in the same run, in
 * messages per second. The ratio is what the docs report; absolute numbers depend on the machine.
 *
 * @param benchmark what was measured
 * @param resq      resq's throughput, messages per second
 * @param baseline  the plain baseline's throughput, messages per second
 * @param spread    how much the measurement moved (JMH error, or the range over rounds)
 */
public record CoreRow(String benchmark, double resq, double baseline, String spread) {

    /** resq's throughput as a fraction of the baseline's: 0.5 means resq moves half as many messages per second. */
    public double ratio() {
        return resq / baseline;
    }

    /** The row as a Markdown table line. */
    public String markdown() {
        return String.format("| %s | %,.0f | %,.0f | %.2f | %s |", benchmark, resq, baseline, ratio(), spread);
    }

    /** The header of a table of {@link #markdown()} lines. */
    public static String markdownHeader() {
        return "| benchmark | resq msg/s | baseline msg/s | resq / baseline | spread |\n"
                + "|---|---:|---:|---:|---|";
    }
}
