package io.resq.jdbc;

import io.resq.ResqException;

/**
 * The broker did not confirm a batch of outbox rows: they stay in the outbox and the relay tries
 * again after a back-off. Seen in {@link RelayHealth#status()} and the logs, not thrown to users.
 */
final class BrokerRefusedException extends ResqException {

    BrokerRefusedException(String message, Throwable cause) {
        super(message, cause);
    }
}
