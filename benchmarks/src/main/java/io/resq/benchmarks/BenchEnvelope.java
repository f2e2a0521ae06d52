package io.resq.benchmarks;

import io.resq.EnvelopeMode;

/**
 * {@code -Dresq.bench.envelope=raw}: resq's rounds send bare payloads with the metadata in headers
 * instead of the envelope (the default), which shows what reading and writing the envelope costs.
 */
final class BenchEnvelope {

    /** The wire format of resq's rounds. */
    static final EnvelopeMode MODE = "raw".equalsIgnoreCase(System.getProperty("resq.bench.envelope"))
            ? EnvelopeMode.RAW : EnvelopeMode.ENVELOPE;

    private BenchEnvelope() {
    }
}
