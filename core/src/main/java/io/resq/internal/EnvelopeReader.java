package io.resq.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.Failure;
import java.io.IOException;
import java.nio.CharBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads one envelope body field by field (docs/wire-format.md) and remembers what its copies must
 * keep ({@link Received}). The payload goes from the parser straight to the payload reader; with
 * no reader it is only skipped, to read the rest of an envelope whose payload does not bind.
 * One instance per body, on the decoding thread. Not public API.
 */
final class EnvelopeReader {

    /** The dispatch date given to a message whose {@code dispatch_date} cannot be read; also the date of an unreadable error date. */
    static final Instant UNREADABLE_DATE = Instant.EPOCH;

    private static final Set<String> FAILURE_FIELDS = Set.of("status_code", "type", "message", "stack_trace", "date");

    private final ObjectMapper mapper;
    private final byte[] body;

    String id;
    String queue;
    String category;
    String key;
    Instant dispatchedAt;
    String dispatchDateText;
    Map<String, String> attributes = Map.of();
    Set<String> jsonAttributes;
    List<Failure> errors = List.of();
    IdentityHashMap<Failure, String> rawErrors;
    LinkedHashMap<String, String> unknownFields;
    boolean hasPayload;
    Object payload;
    /** What the payload reader threw, when the payload does not bind to the type. */
    Throwable bindError;
    int payloadStart = -1;
    int payloadEnd = -1;

    /** The queue the body was received from, or {@code null}: the usual value of the queue field, kept instead of a copy. */
    private final String expectedQueue;

    EnvelopeReader(ObjectMapper mapper, byte[] body) {
        this(mapper, body, null);
    }

    EnvelopeReader(ObjectMapper mapper, byte[] body, String expectedQueue) {
        this.mapper = mapper;
        this.body = body;
        this.expectedQueue = expectedQueue;
    }

    /**
     * Reads the body, binding the payload in {@code payloadFormat} ({@code null}: skip it). A
     * payload that does not bind stops the read with {@link #bindError} set.
     *
     * @throws DecodeException if the body is not a JSON object or its JSON is broken
     */
    EnvelopeReader read(PayloadFormat payloadFormat) {
        try (JsonParser p = mapper.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new DecodeException("body is not a resq envelope: expected a JSON object with a \"payload\" field", null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "payload" -> {
                        if (!readPayload(p, value, payloadFormat)) {
                            return this;
                        }
                    }
                    case "attributes" -> readAttributes(p, value);
                    case "error" -> readErrors(p, value);
                    case "id" -> id = scalarText(p, value);
                    case "queue" -> queue = isExpectedQueue(p, value) ? expectedQueue : scalarText(p, value);
                    case "category" -> category = scalarText(p, value);
                    case "key" -> key = scalarText(p, value);
                    case "dispatch_date" -> readDispatchDate(p, value);
                    default -> readUnknown(p, field);
                }
            }
        } catch (DecodeException e) {
            throw e;
        } catch (IOException e) {
            throw new DecodeException("body is not a JSON envelope: " + MsgCodec.reason(e, null), e);
        }
        return this;
    }

    /** Reads or skips the payload and records where it stands; false when it does not bind. */
    private boolean readPayload(JsonParser p, JsonToken value, PayloadFormat format) throws IOException {
        hasPayload = true;
        payloadStart = (int) p.currentTokenLocation().getByteOffset();
        if (format != null && value != JsonToken.VALUE_NULL) {
            try {
                payload = format.readEnvelopeValue(p, body, payloadStart);
            } catch (Throwable e) {
                // A custom deserializer may throw anything: it is the body's fault all the same.
                if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)) {
                    throw (VirtualMachineError) e;
                }
                bindError = e;
                return false;
            }
        } else {
            p.skipChildren();
        }
        payloadEnd = end(p);
        return true;
    }

    /** The byte offset just past the current token, which the parser may not have read to its end yet. */
    private static int end(JsonParser p) throws IOException {
        p.finishToken();
        return (int) p.currentLocation().getByteOffset();
    }

    private void readUnknown(JsonParser p, String field) throws IOException {
        int start = (int) p.currentTokenLocation().getByteOffset();
        p.skipChildren();
        int stop = end(p);
        if (unknownFields == null) {
            unknownFields = new LinkedHashMap<>();
        }
        unknownFields.putIfAbsent(field, new String(body, start, stop - start, java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Whether the current string token is {@link #expectedQueue}, compared in the parser's buffer without making a string. */
    private boolean isExpectedQueue(JsonParser p, JsonToken value) throws IOException {
        if (expectedQueue == null || value != JsonToken.VALUE_STRING || p.getTextLength() != expectedQueue.length()) {
            return false;
        }
        char[] chars = p.getTextCharacters();
        int offset = p.getTextOffset();
        for (int i = 0; i < expectedQueue.length(); i++) {
            if (chars[offset + i] != expectedQueue.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Reads the date from the parser's buffer; its text is kept as a string only when it is not a date. */
    private void readDispatchDate(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
            Instant parsed = instant(CharBuffer.wrap(p.getTextCharacters(), p.getTextOffset(), p.getTextLength()));
            if (parsed != null) {
                dispatchedAt = parsed;
                return;
            }
        }
        readDispatchDate(scalarText(p, value));
    }

    private void readDispatchDate(String text) {
        if (text == null || text.isBlank()) {
            return;
        }
        Instant parsed = instant(text);
        if (parsed == null) {
            dispatchDateText = text;
            dispatchedAt = UNREADABLE_DATE;
        } else {
            dispatchedAt = parsed;
        }
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
    private void readAttributes(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        Map<String, String> out = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            String text;
            if (v == JsonToken.VALUE_STRING) {
                text = p.getText();
            } else {
                text = mapper.readTree(p).toString();
                if (jsonAttributes == null) {
                    jsonAttributes = new HashSet<>();
                }
                jsonAttributes.add(name);
            }
            if (out == null) {
                out = new LinkedHashMap<>();
            }
            out.put(name, text);
        }
        attributes = out == null ? Map.of() : out;
    }

    /** The error history: an empty array (the common case) without building a tree. */
    private void readErrors(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return;
        }
        if (value == JsonToken.START_ARRAY && p.nextToken() == JsonToken.END_ARRAY) {
            return;
        }
        if (value != JsonToken.START_ARRAY) {
            throw new DecodeException("\"error\" must be an array", null);
        }
        // The parser stands on the first element: read the elements one tree each.
        List<Failure> out = new ArrayList<>();
        do {
            out.add(failure(mapper.readTree(p)));
        } while (p.nextToken() != JsonToken.END_ARRAY);
        errors = out;
    }

    /** Reads the raw-mode error header, the envelope's {@code error} array as text. */
    void readErrorsHeader(String json) {
        try (JsonParser p = mapper.createParser(json)) {
            readErrors(p, p.nextToken());
        } catch (IOException e) {
            throw new DecodeException("header " + Headers.ERRORS + " is not a JSON error array: " + MsgCodec.reason(e, null), e);
        }
    }

    /** One history entry; an entry a copy would not write back the same is kept as received. */
    private Failure failure(JsonNode e) {
        if (!e.isObject()) {
            throw new DecodeException("an \"error\" entry must be an object", null);
        }
        String dateText = text(e, "date", null);
        Instant date = dateText == null || dateText.isBlank() ? null : instant(dateText);
        boolean lossy = dateText != null && !dateText.isBlank() && date == null;
        JsonNode status = e.get("status_code");
        lossy |= status != null && !status.isInt();
        for (Iterator<String> names = e.fieldNames(); names.hasNext() && !lossy; ) {
            lossy = !FAILURE_FIELDS.contains(names.next());
        }
        Failure f = new Failure(status != null && status.canConvertToInt() ? status.asInt(500) : 500, text(e, "type", "unknown"),
                text(e, "message", null), text(e, "stack_trace", ""), date != null ? date : UNREADABLE_DATE);
        if (lossy) {
            if (rawErrors == null) {
                rawErrors = new IdentityHashMap<>();
            }
            rawErrors.put(f, e.toString());
        }
        return f;
    }

    /** What a copy of this envelope keeps. */
    Received received() {
        return Received.envelope(body, payloadStart, payloadEnd, unknownFields, jsonAttributes, dispatchDateText, rawErrors);
    }

    static String text(JsonNode node, String field, String fallback) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? fallback : v.asText();
    }

    /** The instant in {@code value}, or {@code null} when it is not an ISO-8601 date. */
    static Instant instant(CharSequence value) {
        try {
            return IsoInstant.parse(value);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
