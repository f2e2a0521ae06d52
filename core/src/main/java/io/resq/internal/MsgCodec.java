package io.resq.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.resq.EnvelopeMode;
import io.resq.Failure;
import io.resq.Msg;
import io.resq.spi.Outbound;
import java.io.IOException;
import java.io.StringWriter;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Turns {@link Msg}s into broker bodies and headers and back, in envelope or raw mode
 * (docs/wire-format.md). Immutable and thread-safe; one per queue and payload type. Not public API.
 *
 * <p>Decoding honours the {@link Headers#FORMAT} header when a message carries one, so a queue
 * holding both (a dead-letter queue with an undecodable body kept byte for byte beside envelopes)
 * reads correctly; without it the codec's own mode applies.
 *
 * @param <T> the payload type
 */
public final class MsgCodec<T> {

    private final ObjectMapper mapper;
    // The payload's writer and reader, with its (de)serializer found once instead of per message.
    private final ObjectWriter payloadWriter;
    private final ObjectReader payloadReader;
    private final Class<T> type;
    private final EnvelopeMode mode;
    private final int maxBodySize;

    /** A codec for {@code type} payloads in {@code mode}, refusing bodies over {@code maxBodySize} bytes before decoding. */
    public MsgCodec(ObjectMapper mapper, Class<T> type, EnvelopeMode mode, int maxBodySize) {
        this.mapper = Objects.requireNonNull(mapper, "mapper must not be null");
        this.type = Objects.requireNonNull(type, "type must not be null");
        this.mode = Objects.requireNonNull(mode, "mode must not be null");
        if (maxBodySize < 1) {
            throw new IllegalArgumentException("maxBodySize must be >= 1, was " + maxBodySize);
        }
        this.maxBodySize = maxBodySize;
        // A writer for a declared type writes every value as that type, so only a final type may
        // fix it: any other is looked up per value, as ObjectMapper.writeValue does, so subclasses keep their fields.
        ObjectWriter writer = Modifier.isFinal(type.getModifiers()) && !type.isArray() ? mapper.writerFor(type) : mapper.writer();
        this.payloadWriter = writer.without(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);
        this.payloadReader = mapper.readerFor(type);
    }

    /** The payload type. */
    public Class<T> type() {
        return type;
    }

    /** The message as the broker will carry it, held back by {@code delay}. */
    public Outbound encode(Msg<T> msg, Duration delay) {
        String attempt = Integer.toString(msg.attempt());
        if (mode == EnvelopeMode.ENVELOPE) {
            // Built immutable, so Outbound need not copy it.
            return new Outbound(msg.id(), msg.key(), Map.of(Headers.ATTEMPT, attempt, Headers.FORMAT, Headers.FORMAT_ENVELOPE),
                    envelope(msg), delay);
        }
        Map<String, String> headers = new HashMap<>();
        headers.put(Headers.ATTEMPT, attempt);
        headers.put(Headers.FORMAT, Headers.FORMAT_RAW);
        rawHeaders(msg, headers);
        return new Outbound(msg.id(), msg.key(), headers, rawPayload(msg.payload()), delay);
    }

    /**
     * An undecodable body kept byte for byte, with the failure history in raw-mode headers: how a
     * 400 dead letter travels.
     */
    public static Outbound rawCopy(String id, String key, byte[] body, List<Failure> errors, Instant dispatchedAt) {
        Map<String, String> headers = new HashMap<>();
        headers.put(Headers.FORMAT, Headers.FORMAT_RAW);
        headers.put(Headers.ID, id);
        headers.put(Headers.ATTEMPT, "1");
        headers.put(Headers.DISPATCH_DATE, IsoInstant.formatMillis(dispatchedAt));
        if (key != null) {
            headers.put(Headers.KEY, key);
        }
        headers.put(Headers.ERRORS, errorsJson(Json.defaultMapper(), errors));
        return new Outbound(id, key, headers, body, Duration.ZERO);
    }

    /**
     * The message in a received body. {@code deliveryId} and {@code deliveryKey} come from the
     * broker and stand in where the body carries no id or key.
     *
     * @throws DecodeException if the body is too large or is not a message of this type
     */
    public Msg<T> decode(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body) {
        if (body.length > maxBodySize) {
            throw new DecodeException("body of " + body.length + " bytes is over the limit of " + maxBodySize
                    + " bytes; raise Queues.builder(...).maxBodySize(...) if such messages are expected", null);
        }
        String format = headers.get(Headers.FORMAT);
        boolean raw = format == null ? mode == EnvelopeMode.RAW : format.equals(Headers.FORMAT_RAW);
        return raw ? decodeRaw(queue, deliveryId, deliveryKey, headers, body) : decodeEnvelope(queue, deliveryId, deliveryKey, headers, body);
    }

    /** Decodes an outbound message as {@code type} for inspection, or empty when it is not one. */
    public static <T> Optional<Msg<T>> inspect(ObjectMapper mapper, Class<T> type, String queue, Outbound m) {
        String format = m.headers().get(Headers.FORMAT);
        EnvelopeMode guess = Headers.FORMAT_RAW.equals(format) ? EnvelopeMode.RAW : EnvelopeMode.ENVELOPE;
        try {
            return Optional.of(new MsgCodec<>(mapper, type, guess, Integer.MAX_VALUE).decode(queue, m.id(), m.key(), m.headers(), m.body()));
        } catch (DecodeException e) {
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------- envelope

    // Envelope field names encoded once: the generator otherwise encodes a name char by char on
    // every message (a tenth of the time spent sending, measured).
    private static final SerializedString ID = new SerializedString("id");
    private static final SerializedString QUEUE = new SerializedString("queue");
    private static final SerializedString CATEGORY = new SerializedString("category");
    private static final SerializedString KEY = new SerializedString("key");
    private static final SerializedString DISPATCH_DATE = new SerializedString("dispatch_date");
    private static final SerializedString ATTRIBUTES = new SerializedString("attributes");
    private static final SerializedString PAYLOAD = new SerializedString("payload");
    private static final SerializedString ERROR = new SerializedString("error");

    /** A string field; {@code null} is written as JSON null. */
    private static void field(JsonGenerator g, SerializedString name, String value) throws IOException {
        g.writeFieldName(name);
        g.writeString(value);
    }

    /**
     * Writes the envelope with a streaming generator, and the payload with the mapper straight into
     * it, so a payload's JSON is exactly what the mapper writes in raw mode (no detour through a
     * tree, which would reformat numbers such as BigDecimal 30.00).
     */
    private byte[] envelope(Msg<T> msg) {
        ByteArrayBuilder out = new ByteArrayBuilder(512);
        try (JsonGenerator g = mapper.createGenerator(out)) {
            g.writeStartObject();
            field(g, ID, msg.id());
            field(g, QUEUE, msg.queue());
            field(g, CATEGORY, msg.category());
            field(g, KEY, msg.key());
            field(g, DISPATCH_DATE, IsoInstant.formatMillis(msg.dispatchedAt()));
            g.writeFieldName(ATTRIBUTES);
            g.writeStartObject();
            for (Map.Entry<String, String> a : msg.attributes().entrySet()) {
                g.writeStringField(a.getKey(), a.getValue());
            }
            g.writeEndObject();
            g.writeFieldName(PAYLOAD);
            payloadWriter.writeValue(g, msg.payload());
            g.writeFieldName(ERROR);
            writeErrors(g, msg.errors());
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot encode message " + msg.id() + " as JSON: " + shortReason(e), e);
        }
        return out.toByteArray();
    }

    /** Reads the envelope field by field; the payload goes straight from the parser to the mapper, as in raw mode. */
    private Msg<T> decodeEnvelope(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body) {
        String id = null;
        String fromQueue = null;
        String category = null;
        String key = null;
        String dispatchDate = null;
        Map<String, String> attributes = Map.of();
        List<Failure> errors = List.of();
        T payload = null;
        boolean hasPayload = false;
        try (JsonParser p = mapper.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new DecodeException("body is not a resq envelope: expected a JSON object with a \"payload\" field", null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "payload" -> {
                        hasPayload = true;
                        payload = value == JsonToken.VALUE_NULL ? null : readPayload(p);
                    }
                    case "attributes" -> attributes = readAttributes(p, value);
                    case "error" -> errors = readErrors(p, value);
                    case "id" -> id = scalarText(p, value);
                    case "queue" -> fromQueue = scalarText(p, value);
                    case "category" -> category = scalarText(p, value);
                    case "key" -> key = scalarText(p, value);
                    case "dispatch_date" -> dispatchDate = scalarText(p, value);
                    default -> p.skipChildren();
                }
            }
        } catch (DecodeException e) {
            throw e;
        } catch (IOException e) {
            throw new DecodeException("body is not a JSON envelope: " + shortReason(e), e);
        }
        if (!hasPayload) {
            throw new DecodeException("body is not a resq envelope: expected a JSON object with a \"payload\" field", null);
        }
        if (payload == null) {
            throw new DecodeException("payload is null", null);
        }
        Msg.Builder<T> b = Msg.builder(payload).queue(fromQueue != null ? fromQueue : queue);
        String effectiveId = id != null ? id : deliveryId;
        if (effectiveId != null && !effectiveId.isBlank()) {
            b.id(effectiveId);
        }
        b.category(category);
        b.key(key != null ? key : deliveryKey);
        Instant dispatched = instant(dispatchDate);
        if (dispatched != null) {
            b.dispatchedAt(dispatched);
        }
        b.attributes(attributes);
        b.errors(errors);
        b.attempt(attempt(headers, errors));
        return b.build();
    }

    /** The text of a scalar field; {@code null} for a JSON null, an object or an array (which are skipped). */
    private static String scalarText(JsonParser p, JsonToken value) throws IOException {
        if (value.isScalarValue() && value != JsonToken.VALUE_NULL) {
            return p.getValueAsString();
        }
        p.skipChildren();
        return null;
    }

    /** The attributes object; a value that is not a string keeps its JSON text. Anything but an object reads as none. */
    private Map<String, String> readAttributes(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return Map.of();
        }
        Map<String, String> out = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            String text = v == JsonToken.VALUE_STRING ? p.getText() : mapper.readTree(p).toString();
            if (out == null) {
                out = new LinkedHashMap<>();
            }
            out.put(name, text);
        }
        return out == null ? Map.of() : out;
    }

    /** The error history: an empty array (the common case) without building a tree. */
    private List<Failure> readErrors(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (value == JsonToken.START_ARRAY && p.nextToken() == JsonToken.END_ARRAY) {
            return List.of();
        }
        if (value != JsonToken.START_ARRAY) {
            throw new DecodeException("\"error\" must be an array", null);
        }
        // The parser stands on the first element: read the elements one tree each.
        List<Failure> out = new ArrayList<>();
        do {
            out.add(failure(mapper.readTree(p)));
        } while (p.nextToken() != JsonToken.END_ARRAY);
        return out;
    }

    private T readPayload(JsonParser p) {
        try {
            return payloadReader.readValue(p);
        } catch (IOException e) {
            throw new DecodeException("payload is not a " + type.getName() + ": " + shortReason(e), e);
        }
    }

    // ---------------------------------------------------------------- raw

    private void rawHeaders(Msg<T> msg, Map<String, String> headers) {
        headers.put(Headers.ID, msg.id());
        headers.put(Headers.DISPATCH_DATE, IsoInstant.formatMillis(msg.dispatchedAt()));
        if (msg.category() != null) {
            headers.put(Headers.CATEGORY, msg.category());
        }
        if (msg.key() != null) {
            headers.put(Headers.KEY, msg.key());
        }
        if (!msg.errors().isEmpty()) {
            headers.put(Headers.ERRORS, errorsJson(mapper, msg.errors()));
        }
        msg.attributes().forEach((k, v) -> headers.put(Headers.ATTRIBUTE_PREFIX + k, v));
    }

    private byte[] rawPayload(T payload) {
        if (payload instanceof byte[] bytes) {
            return bytes.clone();
        }
        if (payload instanceof String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
        try {
            return payloadWriter.writeValueAsBytes(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode a " + payload.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private T rawValue(byte[] body) {
        if (type == byte[].class) {
            return (T) body.clone();
        }
        if (type == String.class) {
            return (T) new String(body, StandardCharsets.UTF_8);
        }
        try {
            T value = payloadReader.readValue(body);
            if (value == null) {
                throw new DecodeException("body is JSON null, not a " + type.getName(), null);
            }
            return value;
        } catch (IOException e) {
            throw new DecodeException("body is not a " + type.getName() + ": " + shortReason(e), e);
        }
    }

    private Msg<T> decodeRaw(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body) {
        Msg.Builder<T> b = Msg.builder(rawValue(body)).queue(queue);
        String id = headers.getOrDefault(Headers.ID, deliveryId);
        if (id != null && !id.isBlank()) {
            b.id(id);
        }
        b.category(headers.get(Headers.CATEGORY));
        b.key(headers.getOrDefault(Headers.KEY, deliveryKey));
        Instant dispatched = instant(headers.get(Headers.DISPATCH_DATE));
        if (dispatched != null) {
            b.dispatchedAt(dispatched);
        }
        headers.forEach((k, v) -> {
            if (k.startsWith(Headers.ATTRIBUTE_PREFIX) && k.length() > Headers.ATTRIBUTE_PREFIX.length()) {
                b.attribute(k.substring(Headers.ATTRIBUTE_PREFIX.length()), v);
            }
        });
        List<Failure> errors = List.of();
        String errorsJson = headers.get(Headers.ERRORS);
        if (errorsJson != null) {
            try {
                errors = failures(mapper.readTree(errorsJson));
            } catch (IOException e) {
                throw new DecodeException("header " + Headers.ERRORS + " is not a JSON error array: " + shortReason(e), e);
            }
        }
        b.errors(errors);
        b.attempt(attempt(headers, errors));
        return b.build();
    }

    // ---------------------------------------------------------------- shared

    private static void writeErrors(JsonGenerator g, List<Failure> errors) throws IOException {
        g.writeStartArray();
        for (Failure f : errors) {
            g.writeStartObject();
            g.writeNumberField("status_code", f.statusCode());
            g.writeStringField("type", f.type());
            g.writeStringField("message", f.message());
            g.writeStringField("stack_trace", f.stackTrace());
            g.writeStringField("date", IsoInstant.format(f.date()));
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static String errorsJson(ObjectMapper mapper, List<Failure> errors) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = mapper.createGenerator(out)) {
            writeErrors(g, errors);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write error history", e);
        }
        return out.toString();
    }

    private static List<Failure> failures(JsonNode array) {
        List<Failure> out = new ArrayList<>();
        if (array == null || array.isNull()) {
            return out;
        }
        if (!array.isArray()) {
            throw new DecodeException("\"error\" must be an array", null);
        }
        for (JsonNode e : array) {
            out.add(failure(e));
        }
        return out;
    }

    private static Failure failure(JsonNode e) {
        if (!e.isObject()) {
            throw new DecodeException("an \"error\" entry must be an object", null);
        }
        Instant date = instant(text(e, "date", null));
        return new Failure(e.path("status_code").asInt(500), text(e, "type", "unknown"), text(e, "message", null),
                text(e, "stack_trace", ""), date != null ? date : Instant.EPOCH);
    }

    private static int attempt(Map<String, String> headers, List<Failure> errors) {
        String value = headers.get(Headers.ATTEMPT);
        if (value != null) {
            try {
                int n = Integer.parseInt(value.trim());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // A foreign or damaged header: fall back on the history below.
            }
        }
        return errors.size() + 1;
    }

    private static String text(JsonNode node, String field, String fallback) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? fallback : v.asText();
    }

    private static Instant instant(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return IsoInstant.parse(value);
        } catch (DateTimeParseException e) {
            throw new DecodeException("date \"" + value + "\" is not ISO-8601 (e.g. 2026-11-23T10:15:30.123Z)", e);
        }
    }

    private static String shortReason(Exception e) {
        String m = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
