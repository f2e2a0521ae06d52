package io.resq.kafka;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Kafka record keys and header values as the {@code String}s of resq, without losing a byte.
 * Bytes that are UTF-8 text are that text. Any other bytes (a binary id, an Avro or protobuf key,
 * a binary header value) become {@value #BINARY_PREFIX} followed by their Base64, which the sender
 * turns back into the same bytes, so a redelivery or dead-letter copy keeps the key (and with it
 * the partition) and every header byte for byte.
 */
final class BinaryText {

    /** Marks a string that stands for bytes that are not UTF-8 text. Starts with NUL, which text does not. */
    static final String BINARY_PREFIX = "\u0000resq-base64:";

    private BinaryText() {
    }

    /** The string for {@code bytes}: their text, or the marked Base64 of bytes that are not text. */
    static String toText(byte[] bytes) {
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

    /** The bytes a string from {@link #toText} stands for. */
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
