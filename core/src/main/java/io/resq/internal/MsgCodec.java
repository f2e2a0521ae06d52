package io.resq.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.EnvelopeMode;
import io.resq.Failure;
import io.resq.Msg;
import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.PayloadCodec;
import java.io.IOException;
import java.io.StringWriter;
import java.lang.reflect.Type;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
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
    private final PayloadFormat format;
    private final EnvelopeMode mode;
    private final int maxBodySize;

    /** A codec for {@code type} payloads as {@code mapper}'s JSON in {@code mode}, refusing bodies over {@code maxBodySize} bytes before decoding. */
    public MsgCodec(ObjectMapper mapper, Class<T> type, EnvelopeMode mode, int maxBodySize) {
        this(mapper, new JacksonPayloadCodec(mapper), type, mode, maxBodySize);
    }

    /**
     * A codec for {@code type} payloads written by {@code payloadCodec} in {@code mode}, refusing
     * bodies over {@code maxBodySize} bytes before decoding; {@code mapper} writes and reads the
     * envelope and the history.
     */
    public MsgCodec(ObjectMapper mapper, PayloadCodec payloadCodec, Type type, EnvelopeMode mode, int maxBodySize) {
        this.mapper = Objects.requireNonNull(mapper, "mapper must not be null");
        Objects.requireNonNull(payloadCodec, "payloadCodec must not be null");
        Objects.requireNonNull(type, "type must not be null");
        this.mode = Objects.requireNonNull(mode, "mode must not be null");
        if (maxBodySize < 1) {
            throw new IllegalArgumentException("maxBodySize must be >= 1, was " + maxBodySize);
        }
        this.maxBodySize = maxBodySize;
        this.format = PayloadFormat.of(payloadCodec, type);
    }

    /** Bodies over this many bytes are refused before decoding. */
    public int maxBodySize() {
        return maxBodySize;
    }

    /** The payload type. */
    public Type type() {
        return format.type;
    }

    /**
     * The message as the broker will carry it, held back by {@code delay}. A message resq received
     * (and its copies) is written as it was received: its payload's own JSON or raw bytes, attribute
     * values that were not strings, envelope fields resq does not know; only the fields resq owns
     * (queue, attempt, history) change.
     */
    public Outbound encode(Msg<T> msg, Duration delay) {
        Received origin = MsgAccess.origin(msg);
        if (origin != null) {
            return encodeReceived(msg, delay);
        }
        String attempt = Integer.toString(msg.attempt());
        if (mode == EnvelopeMode.ENVELOPE) {
            return new Outbound(msg.id(), msg.key(), envelopeHeaders(msg, attempt), envelope(msg, null), delay);
        }
        Map<String, String> headers = new LinkedHashMap<>(msg.headers());
        headers.put(Headers.ATTEMPT, attempt);
        headers.put(Headers.FORMAT, Headers.FORMAT_RAW);
        rawHeaders(msg, null, headers);
        return new Outbound(msg.id(), msg.key(), headers, rawPayload(msg.payload()), delay);
    }

    /** The headers of an envelope: the message's own and resq's two; immutable, so Outbound need not copy them. */
    private static Map<String, String> envelopeHeaders(Msg<?> msg, String attempt) {
        if (msg.headers().isEmpty()) {
            return Map.of(Headers.ATTEMPT, attempt, Headers.FORMAT, Headers.FORMAT_ENVELOPE);
        }
        Map<String, String> headers = new LinkedHashMap<>(msg.headers());
        headers.put(Headers.ATTEMPT, attempt);
        headers.put(Headers.FORMAT, Headers.FORMAT_ENVELOPE);
        return Collections.unmodifiableMap(headers);
    }

    /**
     * The headers of a received message that are not resq's own ({@code resq-*}, in any case), as
     * {@link Msg#headers()} shows them; a header with a blank name, which no builder can set, is left out.
     */
    public static Map<String, String> userHeaders(Map<String, String> received) {
        Map<String, String> out = null;
        for (Map.Entry<String, String> h : received.entrySet()) {
            String name = h.getKey();
            if (name == null || name.isBlank() || h.getValue() == null
                    || name.regionMatches(true, 0, Msg.RESERVED_HEADER_PREFIX, 0, Msg.RESERVED_HEADER_PREFIX.length())) {
                continue;
            }
            if (out == null) {
                out = new LinkedHashMap<>();
            }
            out.put(name, h.getValue());
        }
        return out == null ? Map.of() : out;
    }

    /**
     * A copy of a received message (whatever its payload type), in the format it was received in,
     * with the payload exactly as received.
     *
     * @throws IllegalArgumentException if {@code msg} was not received by resq
     */
    public Outbound encodeReceived(Msg<?> msg, Duration delay) {
        Received origin = MsgAccess.origin(msg);
        if (origin == null) {
            throw new IllegalArgumentException("message " + msg.id() + " was not received by resq");
        }
        String attempt = Integer.toString(msg.attempt());
        if (origin.envelope) {
            return new Outbound(msg.id(), msg.key(), envelopeHeaders(msg, attempt), envelope(msg, origin), delay);
        }
        Map<String, String> headers = new LinkedHashMap<>(msg.headers());
        headers.put(Headers.ATTEMPT, attempt);
        headers.put(Headers.FORMAT, Headers.FORMAT_RAW);
        rawHeaders(msg, origin, headers);
        return new Outbound(msg.id(), msg.key(), headers, origin.body, delay);
    }

    /**
     * An undecodable body kept byte for byte, with the failure history in raw-mode headers: how a
     * 400 dead letter travels.
     */
    public static Outbound rawCopy(String id, String key, byte[] body, List<Failure> errors, Instant dispatchedAt,
                                   Map<String, String> receivedHeaders) {
        Map<String, String> headers = new LinkedHashMap<>(userHeaders(receivedHeaders));
        headers.put(Headers.FORMAT, Headers.FORMAT_RAW);
        headers.put(Headers.ID, id);
        headers.put(Headers.ATTEMPT, "1");
        headers.put(Headers.DISPATCH_DATE, IsoInstant.formatMillis(dispatchedAt));
        if (key != null) {
            headers.put(Headers.KEY, key);
        }
        headers.put(Headers.ERRORS, errorsJson(Json.defaultMapper(), errors, null));
        return new Outbound(id, key, headers, body, Duration.ZERO);
    }

    /**
     * The message {@code delivery} carries.
     *
     * @throws DecodeException if the transport could not read it ({@link Delivery#unreadableReason()}),
     *                         or its body is too large or is not a message of this type
     */
    public Msg<T> decode(String queue, Delivery delivery) {
        String unreadable = delivery.unreadableReason();
        if (unreadable != null) {
            throw new DecodeException(unreadable, null);
        }
        return decode(queue, delivery.id(), delivery.key(), delivery.headers(), delivery.body());
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
        try {
            return raw ? decodeRaw(queue, deliveryId, deliveryKey, headers, body) : decodeEnvelope(queue, deliveryId, deliveryKey, headers, body);
        } catch (DecodeException e) {
            throw e;
        } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
            // Whatever else cannot become a message (an empty attribute name, a deserializer's own
            // exception) is the body's fault too: 400, never an exception that wedges its key.
            throw new DecodeException("body cannot become a message: " + reason(e, null), e);
        }
    }

    /** Decodes an outbound message as {@code type}, written by {@code payloadCodec}, for inspection; empty when it is not one. */
    public static <T> Optional<Msg<T>> inspect(PayloadCodec payloadCodec, Type type, String queue, Outbound m) {
        String format = m.headers().get(Headers.FORMAT);
        EnvelopeMode guess = Headers.FORMAT_RAW.equals(format) ? EnvelopeMode.RAW : EnvelopeMode.ENVELOPE;
        ObjectMapper mapper = payloadCodec instanceof JacksonPayloadCodec jackson ? jackson.mapper() : Json.defaultMapper();
        try {
            return Optional.of(new MsgCodec<T>(mapper, payloadCodec, type, guess, Integer.MAX_VALUE)
                    .decode(queue, m.id(), m.key(), m.headers(), m.body()));
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
     * tree, which would reformat numbers such as BigDecimal 30.00). With an {@code origin}, the
     * payload, non-string attributes, unknown fields and unreadable metadata are written back as
     * they were received.
     */
    private byte[] envelope(Msg<?> msg, Received origin) {
        // The sending thread's own buffer, taken out of its slot while in use (a payload serializer
        // that sends from inside encoding gets a fresh one): a 512-byte block per message was a
        // sixth of what sending allocated, measured.
        ByteArrayBuilder out = ENCODE_BUFFER.get();
        ENCODE_BUFFER.set(null);
        if (out == null) {
            out = new ByteArrayBuilder(origin == null ? 512 : origin.body.length + 512);
        } else {
            out.reset();
        }
        try (JsonGenerator g = mapper.createGenerator(out)) {
            g.writeStartObject();
            field(g, ID, msg.id());
            field(g, QUEUE, msg.queue());
            field(g, CATEGORY, msg.category());
            field(g, KEY, msg.key());
            field(g, DISPATCH_DATE, dispatchDate(msg, origin));
            g.writeFieldName(ATTRIBUTES);
            g.writeStartObject();
            for (Map.Entry<String, String> a : msg.attributes().entrySet()) {
                g.writeFieldName(a.getKey());
                if (origin != null && origin.jsonAttributes.contains(a.getKey())) {
                    g.writeRawValue(a.getValue());
                } else {
                    g.writeString(a.getValue());
                }
            }
            g.writeEndObject();
            g.writeFieldName(PAYLOAD);
            if (origin != null) {
                g.writeRawValue(origin.payloadJson());
            } else {
                format.writeEnvelopeValue(g, msg.payload());
            }
            if (origin != null) {
                for (Map.Entry<String, String> f : origin.unknownFields.entrySet()) {
                    g.writeFieldName(f.getKey());
                    g.writeRawValue(f.getValue());
                }
            }
            g.writeFieldName(ERROR);
            writeErrors(g, msg.errors(), origin == null ? null : origin.rawErrors);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot encode message " + msg.id() + " as JSON: " + reason(e, null), e);
        }
        byte[] body = out.toByteArray();
        if (body.length <= MAX_KEPT_ENCODE_BUFFER) {
            // A buffer grown by one large message is not kept: it would hold that memory for the thread's life.
            ENCODE_BUFFER.set(out);
        }
        return body;
    }

    /** Each sending thread's envelope buffer; see {@link #envelope}. */
    private static final ThreadLocal<ByteArrayBuilder> ENCODE_BUFFER = new ThreadLocal<>();
    /** Envelopes up to this size leave their buffer for the thread's next one. */
    private static final int MAX_KEPT_ENCODE_BUFFER = 64 * 1024;

    /** The dispatch date as written: the text received when resq could not read it, else ISO-8601. */
    private static String dispatchDate(Msg<?> msg, Received origin) {
        if (origin != null && origin.dispatchDateText != null && msg.dispatchedAt().equals(EnvelopeReader.UNREADABLE_DATE)) {
            return origin.dispatchDateText;
        }
        return IsoInstant.formatMillis(msg.dispatchedAt());
    }

    /**
     * Reads the envelope; a valid envelope whose payload does not bind to the type is read again
     * without its payload, to dead-letter it as the envelope it is ({@link PayloadTypeException}).
     */
    private Msg<T> decodeEnvelope(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body) {
        EnvelopeReader r = new EnvelopeReader(mapper, body, queue).read(format);
        if (r.bindError == null && !r.hasPayload) {
            throw new DecodeException("body is not a resq envelope: expected a JSON object with a \"payload\" field", null);
        }
        if (r.bindError != null || r.payload == null) {
            String why = r.bindError != null ? "payload is not a " + format.typeName() + ": " + format.describe(r.bindError)
                    : "payload is null, not a " + format.typeName();
            throw wrongType(queue, deliveryId, deliveryKey, headers, body, why, r.bindError);
        }
        @SuppressWarnings("unchecked")
        T payload = (T) r.payload;
        return message(payload, r, queue, deliveryId, deliveryKey, headers);
    }

    private DecodeException wrongType(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body,
                                      String why, Throwable cause) {
        EnvelopeReader again;
        try {
            again = new EnvelopeReader(mapper, body).read(null);
        } catch (DecodeException e) {
            return new DecodeException(why, cause);
        }
        Msg<byte[]> envelope;
        try {
            envelope = message(again.received().payloadBytes(), again, queue, deliveryId, deliveryKey, headers);
        } catch (RuntimeException e) {
            return new DecodeException(why, cause);
        }
        return new PayloadTypeException(why, cause, envelope);
    }

    /** The message an envelope reader read, carrying {@code payload}. */
    private static <P> Msg<P> message(P payload, EnvelopeReader r, String queue, String deliveryId, String deliveryKey,
                                      Map<String, String> headers) {
        return MsgAccess.get().received(payload, stableId(r.id, deliveryId), r.queue != null ? r.queue : queue, r.category,
                r.key != null ? r.key : deliveryKey, r.dispatchedAt, r.attributes, userHeaders(headers), r.errors,
                attempt(headers, r.errors), r.received());
    }

    /** The id a message keeps on every delivery: its own, else the broker's; {@code null} when neither is there. */
    private static String stableId(String own, String deliveryId) {
        if (own != null && !own.isBlank()) {
            return own;
        }
        return deliveryId != null && !deliveryId.isBlank() ? deliveryId : null;
    }

    // ---------------------------------------------------------------- raw

    private void rawHeaders(Msg<?> msg, Received origin, Map<String, String> headers) {
        headers.put(Headers.ID, msg.id());
        headers.put(Headers.DISPATCH_DATE, dispatchDate(msg, origin));
        if (msg.category() != null) {
            headers.put(Headers.CATEGORY, msg.category());
        }
        if (msg.key() != null) {
            headers.put(Headers.KEY, msg.key());
        }
        if (!msg.errors().isEmpty()) {
            headers.put(Headers.ERRORS, errorsJson(mapper, msg.errors(), origin == null ? null : origin.rawErrors));
        }
        msg.attributes().forEach((k, v) -> headers.put(Headers.ATTRIBUTE_PREFIX + k, v));
    }

    private byte[] rawPayload(T payload) {
        try {
            return format.rawBody(payload);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode a " + payload.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot encode a " + payload.getClass().getName() + ": " + reason(e, null), e);
        }
    }

    @SuppressWarnings("unchecked")
    private T rawValue(byte[] body) {
        Object value;
        try {
            value = format.rawValue(body);
        } catch (Exception e) {
            throw new DecodeException("body is not a " + format.typeName() + ": " + format.describe(e), e);
        }
        if (value == null) {
            throw new DecodeException("body is JSON null, not a " + format.typeName(), null);
        }
        return (T) value;
    }

    private Msg<T> decodeRaw(String queue, String deliveryId, String deliveryKey, Map<String, String> headers, byte[] body) {
        Msg.Builder<T> b = Msg.builder(rawValue(body)).queue(queue);
        String id = stableId(headers.get(Headers.ID), deliveryId);
        if (id != null) {
            b.id(id);
        }
        b.category(headers.get(Headers.CATEGORY));
        b.key(headers.getOrDefault(Headers.KEY, deliveryKey));
        String dispatchText = headers.get(Headers.DISPATCH_DATE);
        String unreadDispatch = null;
        if (dispatchText != null && !dispatchText.isBlank()) {
            Instant dispatched = EnvelopeReader.instant(dispatchText);
            if (dispatched == null) {
                unreadDispatch = dispatchText;
                dispatched = EnvelopeReader.UNREADABLE_DATE;
            }
            b.dispatchedAt(dispatched);
        }
        headers.forEach((k, v) -> {
            if (k.startsWith(Headers.ATTRIBUTE_PREFIX) && k.length() > Headers.ATTRIBUTE_PREFIX.length()) {
                b.attribute(k.substring(Headers.ATTRIBUTE_PREFIX.length()), v);
            }
        });
        EnvelopeReader errors = new EnvelopeReader(mapper, body);
        String errorsJson = headers.get(Headers.ERRORS);
        if (errorsJson != null) {
            errors.readErrorsHeader(errorsJson);
        }
        b.headers(userHeaders(headers));
        b.errors(errors.errors);
        b.attempt(attempt(headers, errors.errors));
        MsgAccess.get().origin(b, Received.raw(body, unreadDispatch, errors.rawErrors));
        return b.build();
    }

    // ---------------------------------------------------------------- shared

    private static void writeErrors(JsonGenerator g, List<Failure> errors, Map<Failure, String> raw) throws IOException {
        g.writeStartArray();
        for (Failure f : errors) {
            String asReceived = raw == null ? null : raw.get(f);
            if (asReceived != null) {
                g.writeRawValue(asReceived);
                continue;
            }
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

    private static String errorsJson(ObjectMapper mapper, List<Failure> errors, Map<Failure, String> raw) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = mapper.createGenerator(out)) {
            writeErrors(g, errors, raw);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write error history", e);
        }
        return out.toString();
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

    /** Why {@code e} failed, without quoting the input: see {@link JsonErrors}. */
    static String reason(Throwable e, Class<?> target) {
        return JsonErrors.describe(e, target);
    }
}
