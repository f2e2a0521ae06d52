package io.resq.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.resq.spi.PayloadCodec;
import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Payloads through an application's {@link PayloadCodec}. In an envelope, JSON output is embedded
 * as the {@code payload} value and any other output is a base64 string, as a {@code byte[]}
 * payload is; in raw mode the body is the codec's output. Not public API.
 */
final class CodecFormat extends PayloadFormat {

    private final PayloadCodec codec;
    /** The codec's class, to name it in messages. */
    private final String name;
    private final boolean json;

    CodecFormat(PayloadCodec codec, Type type) {
        super(type);
        this.codec = codec;
        this.name = codec.getClass().getName();
        this.json = codec.isJson();
    }

    /**
     * The codec's bytes for {@code payload}. What the codec throws, or a null answer, is the
     * payload's fault: an {@link IllegalArgumentException} for the sender, described without
     * quoting the payload (the codec's exception is its cause).
     */
    private byte[] encode(Object payload) {
        byte[] bytes;
        try {
            bytes = codec.encode(payload, type);
        } catch (Exception e) {
            throw new IllegalArgumentException("payload codec " + name + " cannot encode a " + typeName() + ": "
                    + JsonErrors.describe(e, null), e);
        }
        if (bytes == null) {
            throw new IllegalArgumentException("payload codec " + name + " returned null for a " + typeName());
        }
        return bytes;
    }

    @Override
    void writeEnvelopeValue(JsonGenerator g, Object payload) throws IOException {
        byte[] bytes = encode(payload);
        if (json) {
            requireOneJsonValue(bytes);
            g.writeRawValue(new String(bytes, StandardCharsets.UTF_8));
        } else {
            g.writeBinary(bytes);
        }
    }

    /**
     * Refuses output that is not exactly one JSON value: embedded, it would break the envelope of
     * every message and dead-letter them all as undecodable.
     */
    private void requireOneJsonValue(byte[] bytes) throws IOException {
        try (JsonParser p = Json.defaultMapper().createParser(bytes)) {
            if (p.nextToken() == null) {
                throw new IllegalArgumentException("payload codec " + name + " says it writes JSON, but wrote nothing for a " + typeName());
            }
            p.skipChildren();
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("payload codec " + name + " says it writes JSON, but wrote more than one JSON value for a "
                        + typeName());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("payload codec " + name + " says it writes JSON, but its output for a " + typeName()
                    + " is not JSON: " + JsonErrors.describe(e, null), e);
        }
    }

    @Override
    Object readEnvelopeValue(JsonParser p, byte[] body, int start) throws Exception {
        byte[] data;
        if (json) {
            p.skipChildren();
            p.finishToken();
            int end = (int) p.currentLocation().getByteOffset();
            data = Arrays.copyOfRange(body, start, end);
        } else {
            if (p.currentToken() != JsonToken.VALUE_STRING) {
                throw new Refused("payload is not a base64 string, which is how payload codec " + name
                        + " (not JSON) is carried in an envelope");
            }
            try {
                data = p.getBinaryValue();
            } catch (IOException e) {
                throw new Refused("payload is not valid base64, which is how payload codec " + name
                        + " (not JSON) is carried in an envelope", e);
            }
        }
        return checked(codec.decode(data, type));
    }

    @Override
    byte[] rawBody(Object payload) {
        return encode(payload);
    }

    @Override
    Object rawValue(byte[] body) throws Exception {
        // A copy: the body stays as received for redelivery and dead-letter copies, whatever the codec does with its input.
        return checked(codec.decode(body.clone(), type));
    }

    /** {@code value}, once it is known to be a payload of the type: a codec's slip must not reach a handler as a ClassCastException. */
    private Object checked(Object value) {
        if (value == null) {
            throw new Refused("payload codec " + name + " decoded it to null");
        }
        if (!rawClass.isPrimitive() && !rawClass.isInstance(value)) {
            throw new Refused("payload codec " + name + " decoded it to a " + value.getClass().getName());
        }
        return value;
    }

    /**
     * The codec's own exceptions are described by their class and message (the codec's contract
     * says that message quotes no data); Jackson's, by {@link JsonErrors}, which never quotes the input.
     */
    @Override
    String describe(Throwable e) {
        if (e instanceof Refused) {
            return e.getMessage();
        }
        Throwable t = e;
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof JacksonException) {
                return JsonErrors.describe(e, rawClass);
            }
        }
        return e.getMessage() == null ? e.getClass().getName() : e.getClass().getName() + ": " + e.getMessage();
    }

    /** Why a payload was refused, in resq's own words. */
    private static final class Refused extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }

        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
