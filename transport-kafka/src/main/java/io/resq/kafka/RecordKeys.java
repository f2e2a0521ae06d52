package io.resq.kafka;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Kafka record keys as the {@code String} keys of resq, without losing a byte. A key that is
 * UTF-8 text is that text. Any other key (a binary id, an Avro or protobuf key) becomes
 * {@value #BINARY_PREFIX} followed by its Base64, which the sender turns back into the same bytes,
 * so a redelivery or dead-letter copy keeps the key and with it the partition.
 */
final class RecordKeys {

    /** Marks a key that stands for bytes that are not UTF-8 text. Starts with NUL, which text keys do not. */
    static final String BINARY_PREFIX = "\u0000resq-base64:";

    private RecordKeys() {
    }

    /** The resq key of a record key. */
    static String toKey(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        // Decoding replaces malformed input with U+FFFD; only then is the strict check needed.
        if (text.indexOf('\uFFFD') < 0 && !text.startsWith(BINARY_PREFIX)) {
            return text;
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            if (!text.startsWith(BINARY_PREFIX)) {
                return text;
            }
        } catch (CharacterCodingException e) {
            // not text: fall through
        }
        return BINARY_PREFIX + Base64.getEncoder().encodeToString(bytes);
    }

    /** The record key bytes of a resq key. */
    static byte[] toBytes(String key) {
        if (key.startsWith(BINARY_PREFIX)) {
            try {
                return Base64.getDecoder().decode(key.substring(BINARY_PREFIX.length()));
            } catch (IllegalArgumentException e) {
                // not one of ours after all: send the text
            }
        }
        return key.getBytes(StandardCharsets.UTF_8);
    }
}
