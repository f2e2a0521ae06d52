package io.resq.redis;

import io.resq.spi.Outbound;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.UUID;

/**
 * The layout of a message in a stream entry: the body in field {@value #BODY}, the message id in
 * {@value #ID}, the ordering key in {@value #KEY}, and every header as a field of its own name.
 * Readers that are not resq see plain field/value pairs; in RAW mode resq's metadata headers
 * ({@code resq-*}) sit beside the body the same way.
 */
final class StreamFields {

    /** The field holding the body. */
    static final String BODY = "body";
    /** The field holding {@link Outbound#id()}; the same name core uses for the raw-mode id header. */
    static final String ID = "resq-id";
    /** The field holding {@link Outbound#key()}. */
    static final String KEY = "resq-key";
    /**
     * The field holding {@link Outbound#group()}: the only consumer group that handles the entry.
     * Receivers of other groups ack it without handing it out.
     */
    static final String GROUP = "resq-group";

    private static final byte[] BODY_BYTES = BODY.getBytes(StandardCharsets.UTF_8);

    private StreamFields() {
    }

    /** The entry's fields as an ordered name/value list, body last. */
    static List<byte[]> encode(Outbound m) {
        if (m.headers().containsKey(BODY)) {
            throw new IllegalArgumentException("message " + m.id() + " has a header named '" + BODY
                    + "', which the Redis transport reserves for the body");
        }
        Map<String, String> named = new LinkedHashMap<>(m.headers());
        named.put(ID, m.id());
        if (m.key() != null) {
            named.put(KEY, m.key());
        } else {
            named.remove(KEY);
        }
        if (m.group() != null) {
            named.put(GROUP, m.group());
        } else {
            named.remove(GROUP);
        }
        List<byte[]> out = new ArrayList<>(named.size() * 2 + 2);
        named.forEach((k, v) -> {
            out.add(utf8(k));
            out.add(utf8(v));
        });
        out.add(BODY_BYTES);
        out.add(m.body());
        return out;
    }

    /**
     * The same fields as a map for Jedis' XADD, which only iterates it: a read-only view in the
     * list's order, so a send hashes and copies nothing to build it.
     */
    static Map<byte[], byte[]> asMap(List<byte[]> fields) {
        return new FieldMap(fields);
    }

    /** A read-only map view of a name/value list (names are not looked up, only iterated). */
    private static final class FieldMap extends AbstractMap<byte[], byte[]> {
        private final List<byte[]> fields;

        FieldMap(List<byte[]> fields) {
            this.fields = fields;
        }

        @Override
        public int size() {
            return fields.size() / 2;
        }

        @Override
        public Set<Map.Entry<byte[], byte[]>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public int size() {
                    return fields.size() / 2;
                }

                @Override
                public Iterator<Map.Entry<byte[], byte[]>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next + 1 < fields.size();
                        }

                        @Override
                        public Map.Entry<byte[], byte[]> next() {
                            if (!hasNext()) {
                                throw new NoSuchElementException();
                            }
                            Map.Entry<byte[], byte[]> e = new SimpleImmutableEntry<>(fields.get(next), fields.get(next + 1));
                            next += 2;
                            return e;
                        }
                    };
                }
            };
        }
    }

    /**
     * A sorted-set member for a delayed message: a unique token, then the fields, each written as
     * {@code <length>:<bytes>} so that the Lua mover can split them without a JSON or msgpack
     * library and without caring about binary content. The token keeps two delays of the same
     * message distinct.
     */
    static byte[] delayedMember(List<byte[]> fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeChunk(out, utf8(UUID.randomUUID().toString()));
        fields.forEach(f -> writeChunk(out, f));
        return out.toByteArray();
    }

    private static void writeChunk(ByteArrayOutputStream out, byte[] chunk) {
        out.writeBytes(utf8(Integer.toString(chunk.length)));
        out.write(':');
        out.writeBytes(chunk);
    }

    /** A decoded entry: what a {@link RedisDelivery} exposes. */
    record Decoded(String id, String key, Map<String, String> headers, byte[] body) {
    }

    /**
     * Decodes an entry's flat name/value list. A foreign entry (no {@value #ID}) takes the stream
     * entry id as message id; one with no {@value #BODY} field has an empty body, and its fields
     * are all visible as headers.
     */
    static Decoded decode(String entryId, List<byte[]> flat) {
        Map<String, String> headers = new LinkedHashMap<>();
        byte[] body = new byte[0];
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            String name = new String(flat.get(i), StandardCharsets.UTF_8);
            if (name.equals(BODY)) {
                body = flat.get(i + 1);
            } else {
                headers.put(name, new String(flat.get(i + 1), StandardCharsets.UTF_8));
            }
        }
        String id = headers.getOrDefault(ID, entryId);
        return new Decoded(id, headers.get(KEY), Collections.unmodifiableMap(headers), body);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
