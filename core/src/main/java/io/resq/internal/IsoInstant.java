package io.resq.internal;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;

/**
 * ISO-8601 UTC instants as the wire format writes them ({@code 2026-11-23T10:15:30.123Z}), written
 * and read without {@link java.time.format.DateTimeFormatter}, whose generic machinery cost more
 * than the rest of an envelope's decoding. Not public API.
 *
 * <p>{@link #format} writes exactly what {@link Instant#toString()} writes; {@link #parse} reads
 * the form {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} directly and hands anything else (an offset, a
 * leap second, a year outside 0000–9999) to {@link Instant#parse}, so it accepts what that
 * accepts.
 */
public final class IsoInstant {

    // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z: between them the year has four digits.
    private static final long MIN_FAST_SECOND = -62_167_219_200L;
    private static final long MAX_FAST_SECOND = 253_402_300_800L;
    private static final int SECONDS_PER_DAY = 86_400;

    private IsoInstant() {
    }

    /** The same text as {@code instant.toString()}. */
    public static String format(Instant instant) {
        return format(instant.getEpochSecond(), instant.getNano());
    }

    /** The same text as {@code instant.truncatedTo(ChronoUnit.MILLIS).toString()}, without the intermediate instant. */
    public static String formatMillis(Instant instant) {
        int nano = instant.getNano();
        return format(instant.getEpochSecond(), nano - nano % 1_000_000);
    }

    private static String format(long seconds, int nano) {
        if (seconds < MIN_FAST_SECOND || seconds >= MAX_FAST_SECOND) {
            return Instant.ofEpochSecond(seconds, nano).toString();
        }
        long day = Math.floorDiv(seconds, SECONDS_PER_DAY);
        int secondOfDay = (int) Math.floorMod(seconds, SECONDS_PER_DAY);
        LocalDate date = LocalDate.ofEpochDay(day);
        char[] out = new char[30];
        digits(out, 0, date.getYear(), 4);
        out[4] = '-';
        digits(out, 5, date.getMonthValue(), 2);
        out[7] = '-';
        digits(out, 8, date.getDayOfMonth(), 2);
        out[10] = 'T';
        digits(out, 11, secondOfDay / 3600, 2);
        out[13] = ':';
        digits(out, 14, secondOfDay / 60 % 60, 2);
        out[16] = ':';
        digits(out, 17, secondOfDay % 60, 2);
        int end = 19;
        // Instant.toString prints the fraction in groups of three digits, as few as hold it exactly.
        if (nano != 0) {
            out[end++] = '.';
            if (nano % 1_000_000 == 0) {
                digits(out, end, nano / 1_000_000, 3);
                end += 3;
            } else if (nano % 1000 == 0) {
                digits(out, end, nano / 1000, 6);
                end += 6;
            } else {
                digits(out, end, nano, 9);
                end += 9;
            }
        }
        out[end++] = 'Z';
        return new String(out, 0, end);
    }

    /**
     * The instant {@code text} names.
     *
     * @throws DateTimeParseException if it is not an ISO-8601 instant
     */
    public static Instant parse(CharSequence text) {
        Instant fast = parseCommon(text);
        return fast != null ? fast : Instant.parse(text);
    }

    /** The instant in the common form, or {@code null} when the text has another form (or is invalid). */
    private static Instant parseCommon(CharSequence s) {
        int length = s.length();
        if (length < 20 || length > 30 || s.charAt(length - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-'
                || s.charAt(10) != 'T' || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return null;
        }
        int year = number(s, 0, 4);
        int month = number(s, 5, 2);
        int day = number(s, 8, 2);
        int hour = number(s, 11, 2);
        int minute = number(s, 14, 2);
        int second = number(s, 17, 2);
        if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return null;
        }
        int nano = 0;
        if (length > 20) {
            int fractionDigits = length - 21;
            if (s.charAt(19) != '.' || fractionDigits < 1) {
                return null;
            }
            int fraction = number(s, 20, fractionDigits);
            if (fraction < 0) {
                return null;
            }
            nano = fraction;
            for (int i = fractionDigits; i < 9; i++) {
                nano *= 10;
            }
        } else if (s.charAt(19) != 'Z') {
            return null;
        }
        long epochDay;
        try {
            epochDay = LocalDate.of(year, month, day).toEpochDay();
        } catch (DateTimeException e) {
            return null; // e.g. February 30th: Instant.parse gives the precise error
        }
        return Instant.ofEpochSecond(epochDay * SECONDS_PER_DAY + hour * 3600L + minute * 60L + second, nano);
    }

    /** The decimal number in {@code s[from, from + count)}, or -1 if a character there is not a digit. */
    private static int number(CharSequence s, int from, int count) {
        int value = 0;
        for (int i = from; i < from + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static void digits(char[] out, int at, int value, int count) {
        for (int i = at + count - 1; i >= at; i--) {
            out[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }
}
