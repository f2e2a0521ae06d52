package io.resq.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.IgnoredPropertyException;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.PropertyBindingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Describes why JSON did not decode without quoting the input. Not public API: it may change in
 * any release.
 *
 * <p>Jackson's own messages quote what they read ({@code from String "abc"}, {@code Unrecognized
 * token 'secretvalue'}), and a failure's message travels into logs, health reports and
 * dead-letter histories, so it must not carry the payload. Every description here is made of
 * fixed phrases, type names, the JSON path and line and column numbers; the path's names come
 * from the target type, except map keys, which are data and are shown as {@code <key>}, and the
 * name of an unknown field, which is kept only if it looks like a name (letters, digits,
 * {@code _ $ -}, at most 64). Jackson's message text is only ever matched against fixed
 * prefixes to choose a phrase, never copied, except for {@link StreamConstraintsException}s,
 * whose messages state only lengths and limits.
 */
public final class JsonErrors {

    /** How deep into the cause chain a Jackson exception is looked for. */
    private static final int MAX_CAUSES = 8;
    /** Paths longer than this keep their first and last elements only. */
    private static final int MAX_PATH_ELEMENTS = 12;
    private static final Pattern NAME_LIKE = Pattern.compile("[A-Za-z0-9_$-]{1,64}");

    /** Kinds of streaming (syntax) errors, by the start of Jackson's message; the first match wins. */
    private static final List<Map.Entry<String, String>> SYNTAX_KINDS = List.of(
            Map.entry("Unexpected end-of-input", "unexpected end of input"),
            Map.entry("Unrecognized token", "unrecognized token"),
            Map.entry("Unexpected close marker", "unexpected close marker"),
            Map.entry("Unexpected character", "unexpected character"),
            Map.entry("Illegal unquoted character", "unescaped control character in a string"),
            Map.entry("Illegal character", "illegal character"),
            Map.entry("Invalid UTF-8", "invalid UTF-8"),
            Map.entry("Invalid UTF-32", "invalid UTF-32"),
            Map.entry("Unrecognized character escape", "invalid escape sequence"),
            Map.entry("Illegal white space character", "illegal white space in a string"),
            Map.entry("Invalid numeric value", "invalid number"),
            Map.entry("Leading zeroes", "invalid number"),
            Map.entry("Non-standard token", "non-standard number"),
            Map.entry("Duplicate field", "duplicate field"),
            Map.entry("Trailing token", "content after the value"));

    /** What a mismatch found instead, by a fixed fragment of Jackson's message. */
    private static final List<Map.Entry<String, String>> FOUND_KINDS = List.of(
            Map.entry("No content to map", "no content"),
            Map.entry("Cannot map `null`", "null where a value is required"),
            Map.entry(" from Array value", "found an array"),
            Map.entry(" from Object value", "found an object"),
            Map.entry(" from String value", "found a string"),
            Map.entry(" from String \"", "found a string"),
            Map.entry(" from Integer value", "found a number"),
            Map.entry(" from Floating-point value", "found a number"),
            Map.entry(" from Boolean value", "found a boolean"),
            Map.entry(" from Null value", "found null"),
            Map.entry(" from Embedded Object", "found an embedded object"),
            Map.entry("Trailing token", "content after the value"));

    private JsonErrors() {
    }

    /**
     * A description of {@code e} that holds no part of the input: {@code "malformed JSON at line
     * L, column C: <kind>"} for a syntax error, {@code "cannot bind <path> to <type>: <kind>"} for
     * a value that does not fit {@code target}, a {@link StreamConstraintsException}'s own
     * message, and otherwise the exception's simple class name. A Jackson exception anywhere in
     * {@code e}'s cause chain is described in {@code e}'s place, so a wrapper may be passed.
     *
     * @param e      what reading threw
     * @param target the type being read, or {@code null} if unknown; it names the root of the path
     */
    public static String describe(Throwable e, Class<?> target) {
        if (e == null) {
            return "unknown error";
        }
        StreamConstraintsException limit = find(e, StreamConstraintsException.class);
        if (limit != null) {
            return limit.getOriginalMessage();
        }
        JacksonException jackson = find(e, JacksonException.class);
        if (jackson instanceof JsonMappingException mapping) {
            return mapping(mapping, target);
        }
        if (jackson instanceof InputCoercionException coercion) {
            return "cannot bind the value to " + typeName(coercion.getTargetType(), target) + ": number out of range";
        }
        if (jackson instanceof StreamReadException syntax) {
            return syntax(syntax, null);
        }
        return (jackson != null ? jackson : e).getClass().getSimpleName();
    }

    private static String mapping(JsonMappingException e, Class<?> target) {
        String path = path(e);
        String where = path.isEmpty() ? null : rootName(target) + path;
        Throwable cause = e.getCause();
        // Databind wraps what the parser threw inside a field: describe that, placed by the path.
        if (cause instanceof InputCoercionException coercion) {
            return "cannot bind " + (where == null ? "the value" : where) + " to "
                    + typeName(coercion.getTargetType(), target) + ": number out of range";
        }
        if (cause instanceof StreamReadException syntax) {
            return syntax(syntax, where);
        }
        StringBuilder out = new StringBuilder("cannot bind ").append(where == null ? "the value" : where);
        Class<?> expected = e instanceof MismatchedInputException mismatch ? mismatch.getTargetType() : null;
        // A field that should not be there has no type to bind to.
        if (!(e instanceof PropertyBindingException) && (expected != null || where == null)) {
            out.append(" to ").append(typeName(expected, target));
        }
        String kind = kind(e);
        if (kind != null) {
            out.append(": ").append(kind);
        }
        return out.toString();
    }

    private static String kind(JsonMappingException e) {
        if (e instanceof UnrecognizedPropertyException) {
            return "unknown field";
        }
        if (e instanceof IgnoredPropertyException) {
            return "ignored field";
        }
        if (e instanceof InvalidTypeIdException) {
            return "unknown or missing type id";
        }
        if (e instanceof InvalidNullException) {
            return "null not allowed";
        }
        if (e instanceof ValueInstantiationException) {
            Throwable cause = e.getCause();
            return "rejected by its constructor" + (cause == null ? "" : " (" + cause.getClass().getSimpleName() + ")");
        }
        if (e instanceof InvalidDefinitionException) {
            return "the type cannot be read from JSON as declared";
        }
        if (e instanceof InvalidFormatException) {
            return "invalid value";
        }
        return firstMatch(FOUND_KINDS, e.getOriginalMessage(), false);
    }

    private static String syntax(StreamReadException e, String where) {
        StringBuilder out = new StringBuilder("malformed JSON");
        JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0 && at.getColumnNr() > 0) {
            out.append(" at line ").append(at.getLineNr()).append(", column ").append(at.getColumnNr());
        }
        if (where != null) {
            out.append(" (in ").append(where).append(')');
        }
        String kind = e instanceof JsonEOFException ? "unexpected end of input" : firstMatch(SYNTAX_KINDS, e.getOriginalMessage(), true);
        if (kind != null) {
            out.append(": ").append(kind);
        }
        return out.toString();
    }

    private static String firstMatch(List<Map.Entry<String, String>> kinds, String message, boolean prefix) {
        if (message == null) {
            return null;
        }
        for (Map.Entry<String, String> k : kinds) {
            if (prefix ? message.startsWith(k.getKey()) : message.contains(k.getKey())) {
                return k.getValue();
            }
        }
        return null;
    }

    /** The path as {@code .field[index].field}, map keys hidden; a long one keeps its ends. */
    private static String path(JsonMappingException e) {
        List<JsonMappingException.Reference> refs = e.getPath();
        int n = refs.size();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (n > MAX_PATH_ELEMENTS && i == MAX_PATH_ELEMENTS / 3) {
                out.append("...");
                i = n - (MAX_PATH_ELEMENTS - MAX_PATH_ELEMENTS / 3);
            }
            boolean unknownName = i == n - 1 && e instanceof UnrecognizedPropertyException;
            append(out, refs.get(i), unknownName);
        }
        return out.toString();
    }

    private static void append(StringBuilder out, JsonMappingException.Reference ref, boolean unknownName) {
        String name = ref.getFieldName();
        if (name == null) {
            if (ref.getIndex() >= 0) {
                out.append('[').append(ref.getIndex()).append(']');
            }
            return;
        }
        if (ref.getFrom() instanceof Map || ref.getFrom() instanceof JsonNode) {
            out.append(".<key>");
        } else if (unknownName && !NAME_LIKE.matcher(name).matches()) {
            out.append(".<name>");
        } else {
            out.append('.').append(name);
        }
    }

    private static String rootName(Class<?> target) {
        return target == null ? "$" : target.getSimpleName();
    }

    private static String typeName(Class<?> type, Class<?> fallback) {
        Class<?> t = type != null ? type : fallback;
        return t == null ? "the expected type" : t.getSimpleName();
    }

    /** The first {@code type} in {@code e}'s cause chain, {@code e} included; cycles and very long chains end the search. */
    private static <X extends Throwable> X find(Throwable e, Class<X> type) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = e; t != null && seen.size() < MAX_CAUSES && seen.add(t); t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }
}
