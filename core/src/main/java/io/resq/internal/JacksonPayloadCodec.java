package io.resq.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.spi.PayloadCodec;
import java.lang.reflect.Type;
import java.util.Objects;

/**
 * The default {@link PayloadCodec}: JSON through the {@code Queues}' {@code ObjectMapper}.
 * {@link MsgCodec} recognises it and streams payloads straight between the envelope and the mapper
 * ({@link JacksonFormat}); {@link #encode} and {@link #decode} serve code that calls the codec
 * directly. Not public API: {@link PayloadCodec#jackson(ObjectMapper)} makes one.
 */
public final class JacksonPayloadCodec implements PayloadCodec {

    private final ObjectMapper mapper;

    /** A codec over {@code mapper}. */
    public JacksonPayloadCodec(ObjectMapper mapper) {
        this.mapper = Objects.requireNonNull(mapper, "mapper must not be null");
    }

    /** The mapper payloads are written and read with. */
    public ObjectMapper mapper() {
        return mapper;
    }

    @Override
    public byte[] encode(Object payload, Type type) throws Exception {
        return new JacksonFormat(mapper, type).json(payload);
    }

    @Override
    public Object decode(byte[] data, Type type) throws Exception {
        return mapper.readerFor(mapper.constructType(type)).readValue(data);
    }

    @Override
    public boolean isJson() {
        return true;
    }

    @Override
    public String toString() {
        return "PayloadCodec.jackson";
    }
}
