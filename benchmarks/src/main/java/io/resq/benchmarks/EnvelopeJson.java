package io.resq.benchmarks;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * resq's envelope (docs/wire-format.md) as a hand-written client would model it: a plain record
 * with the same fields in the same order, written and read by Jackson with a writer and a reader
 * made once. The raw baselines that decode use it, so that they move and parse the same bytes
 * resq does instead of a bare 200-byte string; only the payload is used after reading.
 *
 * @param id           message id (a UUID's text, as resq's)
 * @param queue        queue name
 * @param category     null, as resq sends it by default
 * @param key          null, as resq sends it without a key
 * @param dispatchDate send time, ISO-8601, milliseconds
 * @param attributes   empty, as resq sends it by default
 * @param payload      the benchmark's body
 * @param error        empty history
 */
record EnvelopeJson(String id, String queue, String category, String key, @JsonProperty("dispatch_date") String dispatchDate,
                    Map<String, String> attributes, String payload, List<Object> error) {

    private static final ObjectMapper MAPPER = CoreOrder.mapper();
    private static final ObjectWriter WRITER = MAPPER.writerFor(EnvelopeJson.class);
    private static final ObjectReader READER = MAPPER.readerFor(EnvelopeJson.class);

    /** A fresh envelope for {@code payload} on {@code queue}. */
    static EnvelopeJson of(String queue, String payload) {
        // A random UUID from ThreadLocalRandom, not UUID.randomUUID(): its SecureRandom is a global
        // lock and costs more than the rest of the envelope, and a careful hand-written producer avoids it.
        ThreadLocalRandom r = ThreadLocalRandom.current();
        String id = new UUID(r.nextLong(), r.nextLong()).toString();
        return new EnvelopeJson(id, queue, null, null, Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(), Map.of(), payload, List.of());
    }

    byte[] toBytes() {
        try {
            return WRITER.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The envelope in {@code body}; throws on a body that is not one. */
    static EnvelopeJson read(byte[] body) throws IOException {
        return READER.readValue(body);
    }

    /** The envelope as text, for clients that carry strings (Redis fields, SQS bodies). */
    String toJson() {
        try {
            return WRITER.writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The envelope in {@code body}; throws on a body that is not one. */
    static EnvelopeJson read(String body) throws IOException {
        return READER.readValue(body);
    }
}
