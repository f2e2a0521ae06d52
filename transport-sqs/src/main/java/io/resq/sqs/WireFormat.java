package io.resq.sqs;

import io.resq.spi.Outbound;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

/**
 * How an {@link Outbound} becomes an SQS message and back. Stateless.
 *
 * <ul>
 *   <li>Body: sent as it is when it is non-empty UTF-8 made only of the characters SQS accepts
 *       (so JSON envelopes stay readable by other consumers). SQS bodies are text and never
 *       empty, so other bodies travel as a Binary attribute {@value #BINARY_BODY} (which SQS counts
 *       at its raw size, unlike base64) under a one-character placeholder body, marked by
 *       {@value #ENCODING} = {@code binary} (or {@code empty}).</li>
 *   <li>Headers: one String message attribute each, as long as SQS accepts the name and value and
 *       the 10-attribute limit allows; the rest travel URL-encoded in {@value #OVERFLOW}.</li>
 *   <li>Id and key: attributes {@value #ID} and {@value #KEY}; on FIFO queues the key is also the
 *       {@code MessageGroupId}.</li>
 *   <li>Delays SQS cannot hold natively (over 15 minutes, or any delay on a FIFO queue): the due
 *       time in epoch milliseconds in {@value #DUE}. A receiver that gets the message before then
 *       sends it on with {@code DelaySeconds} (standard queues, see {@link DelayHops}) or parks
 *       it until then (FIFO queues).</li>
 * </ul>
 */
final class WireFormat {

    /** The resq message id. */
    static final String ID = "resq.id";
    /** The ordering key. */
    static final String KEY = "resq.key";
    /** "binary" when the body is in {@link #BINARY_BODY}, "empty" for an empty body; absent for text. */
    static final String ENCODING = "resq.enc";
    /** The body, when it is not SQS text. */
    static final String BINARY_BODY = "resq.body";
    private static final String PLACEHOLDER = ".";
    /** Epoch milliseconds before which the message must not be handed out. */
    static final String DUE = "resq.due";
    /** Headers that did not fit as attributes, as {@code name=value&...} URL-encoded. */
    static final String OVERFLOW = "resq.headers";

    /** Headers that get a native attribute before all others. */
    private static final List<String> NATIVE_FIRST = List.of("resq-id", "resq-key", "resq-category", "resq-attempt", "resq-format");
    /** SQS's longest per-message DelaySeconds. */
    static final Duration MAX_NATIVE_DELAY = Duration.ofMinutes(15);
    /** SQS allows at most 10 message attributes per message. */
    private static final int MAX_ATTRIBUTES = 10;
    private static final String RESERVED_PREFIX = "resq.";
    private static final Pattern ATTRIBUTE_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,255}");
    private static final Pattern DEDUP_SAFE = Pattern.compile("[\\x21-\\x7e]{1,100}");

    private WireFormat() {
    }

    /** An Outbound in SQS form; {@link #wireSize()} is what SQS counts against MaximumMessageSize. */
    record Encoded(Outbound source, String body, boolean binary, Map<String, MessageAttributeValue> attributes,
                   int wireSize, int delaySeconds, String groupId, String dedupId) {
    }

    static Encoded encode(Outbound m, boolean fifo, long nowMillis) {
        String text = asSqsText(m.body());
        boolean binary = text == null;
        String body = binary ? PLACEHOLDER : text;

        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put(ID, m.id());
        if (m.key() != null) {
            attrs.put(KEY, m.key());
        }
        if (binary) {
            attrs.put(ENCODING, m.body().length == 0 ? "empty" : "binary");
        }
        int delaySeconds = 0;
        if (!m.delay().isZero()) {
            if (fifo || m.delay().compareTo(MAX_NATIVE_DELAY) > 0) {
                attrs.put(DUE, Long.toString(nowMillis + m.delay().toMillis()));
            }
            if (!fifo) {
                delaySeconds = (int) Math.min(MAX_NATIVE_DELAY.toSeconds(), ceilSeconds(m.delay()));
            }
        }
        Map<String, String> overflow = new TreeMap<>();
        // Keep one slot for the overflow attribute and one for the binary body.
        int room = MAX_ATTRIBUTES - attrs.size() - 2;
        for (Map.Entry<String, String> h : byPriority(m.headers())) {
            if (room > 0 && nativeAttributeOk(h.getKey(), h.getValue())) {
                attrs.put(h.getKey(), h.getValue());
                room--;
            } else {
                overflow.put(h.getKey(), h.getValue());
            }
        }
        if (!overflow.isEmpty()) {
            attrs.put(OVERFLOW, encodeOverflow(overflow));
        }

        Map<String, MessageAttributeValue> attributes = new HashMap<>();
        int size = utf8Length(body);
        for (Map.Entry<String, String> a : attrs.entrySet()) {
            attributes.put(a.getKey(), MessageAttributeValue.builder().dataType("String").stringValue(a.getValue()).build());
            size += utf8Length(a.getKey()) + "String".length() + utf8Length(a.getValue());
        }
        if (binary && m.body().length > 0) {
            attributes.put(BINARY_BODY, MessageAttributeValue.builder().dataType("Binary")
                    .binaryValue(SdkBytes.fromByteArray(m.body())).build());
            size += BINARY_BODY.length() + "Binary".length() + m.body().length;
        }
        String group = null;
        String dedup = null;
        if (fifo) {
            group = groupId(m.key() != null ? m.key() : m.id());
            dedup = dedupId(m, attrs);
        }
        return new Encoded(m, body, binary, attributes, size, delaySeconds, group, dedup);
    }

    /**
     * Headers in the order they get one of the few native attribute slots: resq's own metadata
     * that other consumers filter and route on first (id, key, category, attempt, format, see
     * docs/wire-format.md), then the rest by name; bulky ones such as the error history are the
     * likeliest to travel in the overflow attribute.
     */
    private static List<Map.Entry<String, String>> byPriority(Map<String, String> headers) {
        List<Map.Entry<String, String>> out = new ArrayList<>(new TreeMap<>(headers).entrySet());
        out.sort(java.util.Comparator.comparingInt(e -> {
            int i = NATIVE_FIRST.indexOf(e.getKey());
            return i < 0 ? NATIVE_FIRST.size() : i;
        }));
        return out;
    }

    /**
     * The FIFO deduplication id: the message id plus a digest of its content. resq keeps the id
     * across redeliveries, so the id alone would make SQS drop a redelivery sent within its
     * five-minute deduplication window; the digest changes because a redelivery carries one more
     * failure. A retried send of the very same message still deduplicates.
     */
    static String dedupId(Outbound m, Map<String, String> attrs) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        for (Map.Entry<String, String> a : new TreeMap<>(attrs).entrySet()) {
            if (!a.getKey().equals(DUE)) {
                sha.update(a.getKey().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(a.getValue().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
        }
        sha.update(m.body());
        String digest = HexFormat.of().formatHex(sha.digest()).substring(0, 24);
        return DEDUP_SAFE.matcher(m.id()).matches() ? m.id() + "." + digest : digest;
    }

    /**
     * A MessageGroupId for {@code key}: the key itself when SQS accepts it (up to 128 printable
     * ASCII characters), else a digest of it, so equal keys still share a group.
     */
    static String groupId(String key) {
        if (key.length() <= 128 && key.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
            return key;
        }
        try {
            return "sha256-" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The resq id of a received message, or SQS's message id for a foreign message. */
    static String id(Message m) {
        String id = attribute(m, ID);
        return id != null ? id : m.messageId();
    }

    /** The key: resq's own, else (foreign FIFO message) the group id, else null. */
    static String key(Message m) {
        String key = attribute(m, KEY);
        if (key != null || attribute(m, ID) != null) {
            return key;
        }
        return m.attributes().get(MessageSystemAttributeName.MESSAGE_GROUP_ID);
    }

    /** Epoch millis the message is due at, or 0 when it is due now. */
    static long dueAt(Message m) {
        String due = attribute(m, DUE);
        if (due == null) {
            return 0;
        }
        try {
            return Long.parseLong(due);
        } catch (NumberFormatException e) {
            return 0; // not ours to judge: hand it out rather than park it forever
        }
    }

    /** Headers: every attribute not reserved by resq, plus the overflow ones. */
    static Map<String, String> headers(Message m) {
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, MessageAttributeValue> a : m.messageAttributes().entrySet()) {
            if (a.getKey().startsWith(RESERVED_PREFIX)) {
                continue;
            }
            MessageAttributeValue v = a.getValue();
            if (v.stringValue() != null) {
                out.put(a.getKey(), v.stringValue());
            } else if (v.binaryValue() != null) {
                out.put(a.getKey(), Base64.getEncoder().encodeToString(v.binaryValue().asByteArray()));
            }
        }
        String overflow = attribute(m, OVERFLOW);
        if (overflow != null) {
            out.putAll(decodeOverflow(overflow));
        }
        return out;
    }

    static byte[] body(Message m) {
        String encoding = attribute(m, ENCODING);
        if ("empty".equals(encoding)) {
            return new byte[0];
        }
        if ("binary".equals(encoding)) {
            MessageAttributeValue v = m.messageAttributes().get(BINARY_BODY);
            return v == null || v.binaryValue() == null ? new byte[0] : v.binaryValue().asByteArray();
        }
        return m.body() == null ? new byte[0] : m.body().getBytes(StandardCharsets.UTF_8);
    }

    /** ApproximateReceiveCount, 1 if SQS did not say. */
    static int receiveCount(Message m) {
        String n = m.attributes().get(MessageSystemAttributeName.APPROXIMATE_RECEIVE_COUNT);
        try {
            return n == null ? 1 : Math.max(1, Integer.parseInt(n));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** ApproximateFirstReceiveTimestamp in epoch millis, or 0. */
    static long firstReceivedAt(Message m) {
        String t = m.attributes().get(MessageSystemAttributeName.APPROXIMATE_FIRST_RECEIVE_TIMESTAMP);
        try {
            return t == null ? 0 : Long.parseLong(t);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String attribute(Message m, String name) {
        MessageAttributeValue v = m.messageAttributes().get(name);
        return v == null ? null : v.stringValue();
    }

    /** The body as a string SQS accepts unchanged, or null if it must travel as binary. */
    private static String asSqsText(byte[] body) {
        if (body.length == 0) {
            return null; // SQS refuses an empty body
        }
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        return sqsText(s) ? s : null;
    }

    /** SQS accepts #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF. */
    private static boolean sqsText(CharSequence s) {
        for (int i = 0; i < s.length(); ) {
            int c = Character.codePointAt(s, i);
            boolean ok = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)
                    || (c >= 0x10000 && c <= 0x10FFFF);
            if (!ok) {
                return false;
            }
            i += Character.charCount(c);
        }
        return true;
    }

    private static boolean nativeAttributeOk(String name, String value) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        return ATTRIBUTE_NAME.matcher(name).matches() && !name.endsWith(".") && !name.contains("..")
                && !lower.startsWith(RESERVED_PREFIX) && !lower.startsWith("aws.") && !lower.startsWith("amazon.")
                && !value.isEmpty() && sqsText(value);
    }

    private static String encodeOverflow(Map<String, String> headers) {
        List<String> parts = new ArrayList<>();
        headers.forEach((k, v) -> parts.add(URLEncoder.encode(k, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return String.join("&", parts);
    }

    private static Map<String, String> decodeOverflow(String s) {
        Map<String, String> out = new HashMap<>();
        for (String part : s.split("&")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(part.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    static long ceilSeconds(Duration d) {
        long s = d.getSeconds();
        return d.getNano() > 0 ? s + 1 : s;
    }

    private static int utf8Length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
