package io.resq.redis;

import io.resq.ResqException;

/**
 * A Redis command failed: the broker was unreachable, refused the command, or answered
 * something unexpected. The message names the address (never credentials) and the cause.
 */
public class RedisTransportException extends ResqException {

    /** An exception with a message that names the address and the cause. */
    public RedisTransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
