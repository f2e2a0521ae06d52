package io.resq.internal;

import io.resq.Msg;

/**
 * A valid envelope whose payload does not bind to the consumer's type: status 400, never retried,
 * dead-lettered as the envelope it is (same id, payload unchanged, earlier history kept) with the
 * 400 appended to its history. Not public API.
 */
public final class PayloadTypeException extends DecodeException {

    private static final long serialVersionUID = 1L;
    private final transient Msg<byte[]> envelope;

    PayloadTypeException(String message, Throwable cause, Msg<byte[]> envelope) {
        super(message, cause);
        this.envelope = envelope;
    }

    /** The envelope as received, its payload the payload's JSON bytes; encode copies with {@link MsgCodec#encodeReceived}. */
    public Msg<byte[]> envelope() {
        return envelope;
    }
}
