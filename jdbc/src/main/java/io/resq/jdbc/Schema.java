package io.resq.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SQL script {@code schema-postgresql.sql}, read once, split into the outbox's and the inbox's
 * statements with the table names replaced.
 */
final class Schema {

    /** Where the script is on the class path. */
    static final String RESOURCE = "/io/resq/jdbc/schema-postgresql.sql";
    private static final String OUTBOX = "resq_outbox";
    private static final String INBOX = "resq_inbox";
    private static final List<String> STATEMENTS = statements(read());

    private Schema() {
    }

    /** The outbox's table, dead-letter table and indexes, for an outbox table named {@code table}. */
    static List<String> outbox(String table) {
        return named(OUTBOX, table);
    }

    /** The inbox's table and index, for an inbox table named {@code table}. */
    static List<String> inbox(String table) {
        return named(INBOX, table);
    }

    /** Runs {@code statements} on {@code connection}, committing them when it is not in auto-commit. */
    static void run(Connection connection, List<String> statements) throws SQLException {
        try (Statement s = connection.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
        if (!connection.getAutoCommit()) {
            connection.commit();
        }
    }

    /** The statements about {@code defaultName}, with it (also as a prefix: the derived names) replaced by {@code table}. */
    private static List<String> named(String defaultName, String table) {
        // "resq_outbox" also names resq_outbox_deadletter and the indexes; "resq_inbox" shares no prefix with it.
        Pattern name = Pattern.compile("\\b" + defaultName + "(?=\\b|_)");
        List<String> out = new ArrayList<>();
        for (String sql : STATEMENTS) {
            Matcher m = name.matcher(sql);
            if (m.find()) {
                out.add(m.replaceAll(table));
            }
        }
        return out;
    }

    private static String read() {
        try (InputStream in = Schema.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }

    /** The script's statements: comments dropped, split at a semicolon that ends a line. */
    static List<String> statements(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : script.split("\n")) {
            int comment = line.indexOf("--");
            String code = (comment >= 0 ? line.substring(0, comment) : line).strip();
            if (code.isEmpty()) {
                continue;
            }
            current.append(code).append('\n');
            if (code.endsWith(";")) {
                out.add(current.substring(0, current.lastIndexOf(";")).strip());
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) {
            throw new IllegalStateException(RESOURCE + " ends without a semicolon");
        }
        return List.copyOf(out);
    }
}
