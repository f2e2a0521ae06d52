package io.resq.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.type.TypeFactory;
import io.resq.spi.PayloadCodec;
import java.io.IOException;
import java.lang.reflect.Type;

/**
 * How {@link MsgCodec} writes and reads the payload of one payload type: as the envelope's
 * {@code payload} value, and as a raw-mode body. {@link JacksonFormat} streams through the
 * {@code ObjectMapper}; {@link CodecFormat} goes through any other {@link PayloadCodec}.
 * Immutable and thread-safe. Not public API.
 */
abstract class PayloadFormat {

    final Type type;
    /** The type's class without its arguments: {@code List} for {@code List<Order>}. */
    final Class<?> rawClass;

    PayloadFormat(Type type) {
        this.type = type;
        this.rawClass = TypeFactory.rawClass(type);
    }

    /** The format of {@code type} payloads under {@code codec}. */
    static PayloadFormat of(PayloadCodec codec, Type type) {
        return codec instanceof JacksonPayloadCodec jackson ? new JacksonFormat(jackson.mapper(), type) : new CodecFormat(codec, type);
    }

    /** The type's name with its arguments, for messages: {@code java.util.List<com.example.Order>}. */
    final String typeName() {
        return type.getTypeName();
    }

    /** Why reading a payload failed, for the history: never a quote of the data. */
    String describe(Throwable e) {
        return JsonErrors.describe(e, rawClass);
    }

    /** Writes {@code payload} (not null) as the envelope's {@code payload} value. */
    abstract void writeEnvelopeValue(JsonGenerator g, Object payload) throws IOException;

    /**
     * Reads the envelope's {@code payload} value, on which {@code p} stands (never JSON null),
     * leaving {@code p} on the value's last token. {@code start} is the value's offset in {@code body}.
     *
     * @throws Exception whatever binding threw: the payload does not bind to the type
     */
    abstract Object readEnvelopeValue(JsonParser p, byte[] body, int start) throws Exception;

    /** {@code payload} (not null) as a raw-mode body. */
    abstract byte[] rawBody(Object payload) throws Exception;

    /**
     * The payload in a raw-mode body, which this method never writes.
     *
     * @throws Exception whatever reading threw: the body is not a payload of the type
     */
    abstract Object rawValue(byte[] body) throws Exception;
}
