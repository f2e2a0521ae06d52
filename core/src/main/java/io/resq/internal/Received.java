package io.resq.internal;

import io.resq.Failure;
import java.nio.charset.StandardCharsets;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What a received message looked like on the wire, kept with the decoded {@code Msg} so that its
 * redelivery, dead-letter and redrive copies carry the message as it was received: the payload's
 * own JSON (fields the consumer's type does not know, exact numbers), attribute values that were
 * not strings, envelope fields resq does not know, metadata it could not read. Not public API.
 *
 * <p>Immutable once the codec has built it; the body array is the broker's and is never written.
 */
public final class Received {

    final boolean envelope;
    final byte[] body;
    // Envelope only: where the payload's JSON stands in the body.
    final int payloadStart;
    final int payloadEnd;
    // Each null or empty in the common case; filled only for what a reader would otherwise lose.
    final Map<String, String> unknownFields;
    final Set<String> jsonAttributes;
    final String dispatchDateText;
    final Map<Failure, String> rawErrors;

    private Received(boolean envelope, byte[] body, int payloadStart, int payloadEnd, Map<String, String> unknownFields,
                     Set<String> jsonAttributes, String dispatchDateText, Map<Failure, String> rawErrors) {
        this.envelope = envelope;
        this.body = body;
        this.payloadStart = payloadStart;
        this.payloadEnd = payloadEnd;
        this.unknownFields = unknownFields == null ? Map.of() : unknownFields;
        this.jsonAttributes = jsonAttributes == null ? Set.of() : jsonAttributes;
        this.dispatchDateText = dispatchDateText;
        this.rawErrors = rawErrors == null ? Map.of() : rawErrors;
    }

    static Received envelope(byte[] body, int payloadStart, int payloadEnd, LinkedHashMap<String, String> unknownFields,
                             Set<String> jsonAttributes, String dispatchDateText, IdentityHashMap<Failure, String> rawErrors) {
        return new Received(true, body, payloadStart, payloadEnd, unknownFields, jsonAttributes, dispatchDateText, rawErrors);
    }

    static Received raw(byte[] body, String dispatchDateText, IdentityHashMap<Failure, String> rawErrors) {
        return new Received(false, body, -1, -1, null, null, dispatchDateText, rawErrors);
    }

    /** Whether the message came as an envelope (else as a raw body with resq's metadata in headers). */
    public boolean isEnvelope() {
        return envelope;
    }

    /** The payload's JSON text exactly as received (envelope), or the whole body (raw). */
    public byte[] payloadBytes() {
        if (!envelope) {
            return body.clone();
        }
        byte[] out = new byte[payloadEnd - payloadStart];
        System.arraycopy(body, payloadStart, out, 0, out.length);
        return out;
    }

    String payloadJson() {
        return new String(body, payloadStart, payloadEnd - payloadStart, StandardCharsets.UTF_8);
    }

    /** Size of the payload as received, in bytes. */
    int payloadSize() {
        return envelope ? payloadEnd - payloadStart : body.length;
    }
}
