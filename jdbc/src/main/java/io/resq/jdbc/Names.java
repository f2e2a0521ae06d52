package io.resq.jdbc;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Table names and advisory-lock keys. A table name goes into SQL text (JDBC cannot bind an
 * identifier), so only plain lower-case identifiers are accepted: nothing to quote, nothing to inject.
 */
final class Names {

    /** Long enough for real names, short enough that derived names ({@code _deadletter}, index names) stay under PostgreSQL's 63 bytes. */
    static final int MAX_TABLE_LENGTH = 40;
    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

    private Names() {
    }

    /** {@code value} when it is a valid table name, else an {@link IllegalArgumentException} naming {@code what}. */
    static String table(String value, String what) {
        Objects.requireNonNull(value, what + " must not be null");
        if (value.length() > MAX_TABLE_LENGTH || !IDENTIFIER.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be a lower-case SQL identifier ([a-z_][a-z0-9_]*) of at most "
                    + MAX_TABLE_LENGTH + " characters, was \"" + value + "\"; the table lives in the connection's "
                    + "current schema (search_path)");
        }
        return value;
    }

    /** A non-blank name (a queue, a group). */
    static String nonBlank(String value, String what) {
        Objects.requireNonNull(value, what + " must not be null");
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be blank");
        }
        return value;
    }

    /** The dead-letter table of an outbox table. */
    static String deadLetterTable(String outboxTable) {
        return outboxTable + "_deadletter";
    }

    /**
     * The first key of the two-key advisory locks resq takes for {@code table} and {@code purpose}:
     * writers of one key ({@code "writers"}) and relay partitions ({@code "relay"}). Two-key locks
     * keep out of the way of an application's one-key {@code pg_advisory_lock(bigint)} locks;
     * non-negative, because pg_locks shows the key as an unsigned oid.
     */
    static int lockClass(String table, String purpose) {
        return ("resq:" + purpose + ":" + table).hashCode() & 0x7fffffff;
    }

    /**
     * The hash stored in {@code key_hash}: of the key, or of the id for a message without one. Java's
     * {@code String.hashCode} is specified, so every writer and relay computes the same value.
     */
    static int keyHash(String key, String id) {
        return key != null ? key.hashCode() : id.hashCode();
    }

    /** The relay partition of a {@code key_hash}; the relay's SQL computes the same expression. */
    static int partition(int keyHash, int partitions) {
        return (keyHash & 0x7fffffff) % partitions;
    }
}
