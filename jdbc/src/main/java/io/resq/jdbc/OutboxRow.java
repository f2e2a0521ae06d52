package io.resq.jdbc;

import io.resq.spi.Outbound;
import java.time.Duration;

/**
 * One row of the outbox as the relay read it.
 *
 * @param seq     its place in the outbox
 * @param queue   the queue it goes to
 * @param id      the message id
 * @param key     the ordering key, or {@code null}
 * @param headers the headers column (JSON)
 * @param body    the body as the broker carries it
 */
record OutboxRow(long seq, String queue, String id, String key, String headers, byte[] body) {

    /** The message for the transport; {@link IllegalArgumentException} when the headers column does not read. */
    Outbound toOutbound() {
        return new Outbound(id, key, HeadersJson.read(headers), body, Duration.ZERO);
    }
}
