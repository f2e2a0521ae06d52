package io.resq.internal;

/**
 * Names of the broker headers resq writes. In envelope mode only {@link #FORMAT} and
 * {@link #ATTEMPT} travel as headers; in raw mode every field of the envelope does.
 * Documented in docs/wire-format.md. Not public API.
 */
public final class Headers {

    /** "envelope" or "raw": how the body is to be read. */
    public static final String FORMAT = "resq-format";
    /** The delivery number, 1 on the first delivery. */
    public static final String ATTEMPT = "resq-attempt";
    /** Raw mode: the message id. */
    public static final String ID = "resq-id";
    /** Raw mode: the category. */
    public static final String CATEGORY = "resq-category";
    /** Raw mode: the ordering key. */
    public static final String KEY = "resq-key";
    /** Raw mode: the dispatch date, ISO-8601. */
    public static final String DISPATCH_DATE = "resq-dispatch-date";
    /** Raw mode: the error history as the envelope's JSON {@code error} array. */
    public static final String ERRORS = "resq-errors";
    /** Raw mode: prefix of one header per attribute. */
    public static final String ATTRIBUTE_PREFIX = "resq-attr-";

    /** Value of {@link #FORMAT} for envelope bodies. */
    public static final String FORMAT_ENVELOPE = "envelope";
    /** Value of {@link #FORMAT} for raw bodies. */
    public static final String FORMAT_RAW = "raw";

    private Headers() {
    }
}
