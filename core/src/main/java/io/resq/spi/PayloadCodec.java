package io.resq.spi;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.resq.internal.JacksonPayloadCodec;
import java.lang.reflect.Type;

/**
 * Turns payloads into bytes and back: the one part of a message's body that the application
 * chooses. resq writes everything else (the envelope, the error history, the headers) itself.
 * The default is Jackson with the {@code Queues}' {@code ObjectMapper}
 * ({@link #jackson(ObjectMapper)}); another is set for every queue of a {@code Queues} with
 * {@code Queues.builder(transport).payloadCodec(codec)}.
 *
 * <p>Where the payload goes (docs/wire-format.md):
 * <ul>
 *   <li>in an envelope, a codec whose output {@link #isJson() is JSON} has it embedded as the
 *       {@code payload} value; any other codec's bytes are written there as a base64 JSON string,
 *       the way a {@code byte[]} payload is written, so a reader of the envelope reading the
 *       payload as {@code byte[]} gets exactly the codec's bytes;</li>
 *   <li>in raw mode ({@code EnvelopeMode.RAW}) the body is the codec's bytes.</li>
 * </ul>
 *
 * <p>Implementations must be thread-safe: one codec serves every queue and thread of a
 * {@code Queues}. They need not be fast to look up a type: the {@code type} given is the one the
 * queue was opened with, and a codec may cache per type.
 */
public interface PayloadCodec {

    /**
     * The payload's bytes.
     *
     * @param payload the payload, never {@code null}; an instance of {@code type} (or of a subclass)
     * @param type    the payload type the queue was opened with: a {@code Class}, or a
     *                {@code ParameterizedType} such as {@code List<Order>} when opened with a
     *                {@link io.resq.TypeRef}
     * @throws Exception if the payload cannot be encoded; the send fails with an
     *         {@link IllegalArgumentException} carrying it as its cause
     */
    byte[] encode(Object payload, Type type) throws Exception;

    /**
     * The payload in {@code data}, as {@code type}.
     *
     * @param data what {@link #encode} wrote (or what another producer wrote); the codec may keep it
     * @param type the payload type the queue was opened with
     * @return an instance of {@code type}, never {@code null}
     * @throws Exception if {@code data} is not a {@code type}; the message is then undecodable
     *         (status 400) and goes to the dead-letter queue as it arrived. The exception's message
     *         is recorded in the history, so it should describe the problem without quoting the data.
     */
    Object decode(byte[] data, Type type) throws Exception;

    /**
     * Whether {@link #encode} writes one JSON value in UTF-8, to embed in the envelope as it is. A
     * codec answering {@code true} is checked: output that is not one JSON value fails the send.
     */
    boolean isJson();

    /**
     * The default codec: {@code mapper} writes and reads payloads as JSON. In raw mode a
     * {@code byte[]} payload is the body itself and a {@code String} its UTF-8 bytes, as before.
     */
    static PayloadCodec jackson(ObjectMapper mapper) {
        return new JacksonPayloadCodec(mapper);
    }
}
