package io.resq.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Payloads as the {@code ObjectMapper}'s JSON, streamed straight into and out of the envelope
 * (no detour through bytes or a tree, which would reformat numbers such as BigDecimal 30.00).
 * In raw mode a {@code byte[]} payload is the body itself and a {@code String} its UTF-8 bytes.
 * The reader and writers are found once per type (and runtime class), not per message.
 * Not public API.
 */
final class JacksonFormat extends PayloadFormat {

    /** Runtime classes whose writer is kept; a payload of yet another class gets its writer made anew. */
    private static final int MAX_CACHED_WRITERS = 32;

    private final ObjectMapper mapper;
    private final JavaType javaType;
    private final ObjectReader reader;
    /** The writer of every value when one writer is right for all of them, else {@code null}. */
    private final ObjectWriter fixedWriter;
    /** Generic types only: writers by the value's runtime class. */
    private final Map<Class<?>, ObjectWriter> writers = new ConcurrentHashMap<>();

    JacksonFormat(ObjectMapper mapper, Type type) {
        super(type);
        this.mapper = mapper;
        this.javaType = mapper.constructType(type);
        this.reader = mapper.readerFor(javaType);
        boolean fixed = Modifier.isFinal(rawClass.getModifiers()) && !rawClass.isArray();
        if (type instanceof Class<?> || !polymorphicArgument(javaType, 0)) {
            // A writer for a declared type writes every value as that type, and (Jackson's
            // writerFor) the elements of a declared container as their declared type too, so only
            // a final type may fix it: any other is looked up per value, as ObjectMapper.writeValue
            // does, so subclasses (and subclass elements) keep their fields. Without polymorphic
            // type arguments, the arguments change nothing else in what Jackson writes.
            this.fixedWriter = quiet(fixed ? mapper.writerFor(javaType) : mapper.writer());
        } else {
            // A polymorphic argument (List<Payment>, Payment with @JsonTypeInfo) needs the declared
            // type: the value's class has its arguments erased, and for a bare ArrayList Jackson
            // leaves the elements' type ids out, so the list would not read back. Declared
            // polymorphic elements are still written by their own class. See writerFor.
            this.fixedWriter = fixed ? quiet(mapper.writerFor(javaType)) : null;
        }
    }

    /** Whether a type argument of {@code t}, at any depth, is written with a type id (Jackson's polymorphic handling). */
    private boolean polymorphicArgument(JavaType t, int depth) {
        if (depth > 8) {
            return false;
        }
        for (int i = 0; i < t.containedTypeCount(); i++) {
            if (polymorphic(t.containedType(i), depth + 1)) {
                return true;
            }
        }
        return t.isArrayType() && polymorphic(t.getContentType(), depth + 1);
    }

    private boolean polymorphic(JavaType t, int depth) {
        if (t == null) {
            return false;
        }
        try {
            if (mapper.getSerializerProviderInstance().findTypeSerializer(t) != null) {
                return true;
            }
        } catch (JsonMappingException e) {
            // A type Jackson cannot describe fails when written, with Jackson's own message.
            return false;
        }
        return polymorphicArgument(t, depth);
    }

    private static ObjectWriter quiet(ObjectWriter w) {
        return w.without(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);
    }

    /**
     * The writer of a {@code value} of a generic type with polymorphic arguments: the value's own
     * class with the declared type arguments ({@code ArrayList<Payment>} for an {@code ArrayList}
     * declared {@code List<Payment>}, {@code SpecialPage<Payment>} for a subclass of
     * {@code Page<Payment>}), so the root keeps the fields of its subclass and each polymorphic
     * element is written with its type id, by its own class. A class the arguments cannot be
     * carried to is written as {@code ObjectMapper.writeValue} would.
     */
    private ObjectWriter writerFor(Object value) {
        if (fixedWriter != null) {
            return fixedWriter;
        }
        Class<?> runtime = value.getClass();
        ObjectWriter w = writers.get(runtime);
        if (w != null) {
            return w;
        }
        JavaType actual;
        try {
            actual = runtime == rawClass ? javaType : mapper.getTypeFactory().constructSpecializedType(javaType, runtime);
            w = quiet(mapper.writerFor(actual));
        } catch (IllegalArgumentException e) {
            w = quiet(mapper.writer());
        }
        if (writers.size() < MAX_CACHED_WRITERS) {
            writers.putIfAbsent(runtime, w);
        }
        return w;
    }

    @Override
    void writeEnvelopeValue(JsonGenerator g, Object payload) throws IOException {
        writerFor(payload).writeValue(g, payload);
    }

    @Override
    Object readEnvelopeValue(JsonParser p, byte[] body, int start) throws IOException {
        return reader.readValue(p);
    }

    /** The payload's JSON. */
    byte[] json(Object payload) throws IOException {
        return writerFor(payload).writeValueAsBytes(payload);
    }

    @Override
    byte[] rawBody(Object payload) throws IOException {
        if (payload instanceof byte[] bytes) {
            return bytes.clone();
        }
        if (payload instanceof String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        return json(payload);
    }

    @Override
    Object rawValue(byte[] body) throws IOException {
        if (rawClass == byte[].class) {
            return body.clone();
        }
        if (rawClass == String.class) {
            return new String(body, StandardCharsets.UTF_8);
        }
        return reader.readValue(body);
    }
}
