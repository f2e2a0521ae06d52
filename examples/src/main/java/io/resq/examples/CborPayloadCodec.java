package io.resq.examples;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import io.resq.spi.PayloadCodec;
import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A payload codec for CBOR (RFC 8949), a binary format, built on Jackson's CBOR module: payloads
 * are smaller than their JSON and numbers keep their binary form. The {@link PayloadCodec} SPI is
 * all it takes; resq carries the bytes base64-encoded in the envelope's {@code payload} field, or
 * as the whole body in raw mode, and writes the envelope and the error history itself.
 *
 * <pre>{@code
 * Queues queues = Queues.builder(transport).payloadCodec(new CborPayloadCodec()).build();
 * }</pre>
 *
 * Every producer and consumer of a queue must use the same codec: the envelope does not say which
 * one wrote a payload, as it does not say which class it was written from.
 */
public final class CborPayloadCodec implements PayloadCodec {

    // A producer may add fields its consumers do not know yet, as with resq's JSON default.
    private final CBORMapper cbor = CBORMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    // A reader per payload type, found once: a queue's type never changes.
    private final Map<Type, ObjectReader> readers = new ConcurrentHashMap<>();

    @Override
    public byte[] encode(Object payload, Type type) throws IOException {
        // By the payload's own class, as ObjectMapper.writeValue does, so a subclass keeps its fields.
        return cbor.writeValueAsBytes(payload);
    }

    @Override
    public Object decode(byte[] data, Type type) throws IOException {
        return readers.computeIfAbsent(type, t -> cbor.readerFor(cbor.constructType(t))).readValue(data);
    }

    /** CBOR is not JSON: the envelope carries it as a base64 string. */
    @Override
    public boolean isJson() {
        return false;
    }
}
