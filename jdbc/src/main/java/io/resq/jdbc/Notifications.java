package io.resq.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Waits for PostgreSQL notifications on a connection that has run {@code LISTEN}. The PostgreSQL
 * driver's {@code PGConnection.getNotifications(int timeoutMillis)} is reached by reflection, so
 * that resq-jdbc does not depend on the driver at compile time (the application brings its own).
 * Where the connection is not the PostgreSQL driver's, or hides it (a pool that does not unwrap),
 * {@link #of} returns {@code null} and the relay polls instead.
 *
 * <p>Not thread-safe: used by the relay thread that owns the connection.
 */
final class Notifications {

    private static final String PG_CONNECTION = "org.postgresql.PGConnection";

    private final Object pgConnection;
    private final Method getNotifications;

    private Notifications(Object pgConnection, Method getNotifications) {
        this.pgConnection = pgConnection;
        this.getNotifications = getNotifications;
    }

    /** The notifications of {@code connection}, or {@code null} when the driver's are not reachable. */
    static Notifications of(Connection connection) {
        try {
            Class<?> pg = Class.forName(PG_CONNECTION, false, connection.getClass().getClassLoader());
            if (!connection.isWrapperFor(pg)) {
                return null;
            }
            return new Notifications(connection.unwrap(pg), pg.getMethod("getNotifications", int.class));
        } catch (ClassNotFoundException | NoSuchMethodException | SQLException | LinkageError e) {
            return null;
        }
    }

    /**
     * Blocks until at least one notification arrived or {@code millis} passed, and drains what arrived.
     *
     * @return whether a notification arrived
     */
    boolean await(long millis) throws SQLException {
        // 0 would mean "wait forever" to the driver.
        int timeout = (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
        try {
            Object[] arrived = (Object[]) getNotifications.invoke(pgConnection, timeout);
            return arrived != null && arrived.length > 0;
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new SQLException("waiting for notifications failed", e.getCause());
        } catch (IllegalAccessException e) {
            throw new SQLException("waiting for notifications failed", e);
        }
    }
}
