package io.resq.jdbc;

import io.resq.Msg;
import java.sql.Connection;

/**
 * A handler that does its work in the inbox's transaction: {@code connection} is in a transaction
 * in which the message id is already recorded as processed; the handler's writes and that record
 * commit together when it returns, and roll back together when it throws.
 *
 * <p>The handler must not commit, roll back or close {@code connection}: {@link Inbox} does.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface InboxHandler<T> {

    /** Handles {@code msg} with {@code connection}; throw to fail (the transaction then rolls back). */
    void handle(Msg<T> msg, Connection connection) throws Exception;
}
