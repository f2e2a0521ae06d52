package io.resq.sqs;

import io.resq.ResqException;

/**
 * SQS refused or could not be reached: the message names the endpoint ({@code host:port}), the
 * queue and the cause, never credentials.
 */
public class SqsTransportException extends ResqException {

    /** An exception with a message that says where and why, and the SDK's exception as cause. */
    public SqsTransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
