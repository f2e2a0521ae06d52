package io.resq;

/** How a message travels in the broker: chosen once for all queues of a {@link Queues}. */
public enum EnvelopeMode {
    /**
     * The body is a JSON envelope with the id, queue, category, key, dispatch date, attributes,
     * payload and error history (see docs/wire-format.md). The default.
     */
    ENVELOPE,
    /**
     * The body is the bare payload, for queues that other producers write too; resq's metadata
     * travels in broker-native headers, and a message without it is a first delivery carrying the
     * broker's message id.
     */
    RAW
}
