package io.resq.internal;

/**
 * Bounds strings in UTF-8 bytes without encoding them, for the byte limits of
 * {@link io.resq.Failure}. Not public API: it may change in any release.
 */
public final class Utf8 {

    private Utf8() {
    }

    /**
     * {@code s}, or, if its UTF-8 form is over {@code maxBytes}, its longest prefix that ends on a
     * code-point boundary followed by {@code " ... [cut, N bytes in all]"}, the whole at most
     * {@code maxBytes} bytes of UTF-8. {@code null} stays {@code null}.
     */
    public static String bound(String s, int maxBytes) {
        // Every char takes at most 3 bytes (a surrogate pair is 2 chars and 4 bytes), so short
        // strings, nearly all of them, are never scanned.
        if (s == null || s.length() * 3L <= maxBytes) {
            return s;
        }
        long total = length(s);
        if (total <= maxBytes) {
            return s;
        }
        String marker = " ... [cut, " + total + " bytes in all]";
        if (marker.length() > maxBytes) {
            marker = "";
        }
        return s.substring(0, prefixEnd(s, maxBytes - marker.length())) + marker;
    }

    /**
     * The number of bytes of {@code s} in UTF-8. An unpaired surrogate counts as 3 bytes, the most
     * any encoder writes for it, so a bound computed with this holds whichever encoder runs.
     */
    public static long length(CharSequence s) {
        long bytes = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** The end index of the longest prefix of {@code s} on a code-point boundary that fits in {@code budget} bytes. */
    private static int prefixEnd(String s, int budget) {
        int n = s.length();
        int bytes = 0;
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            int width;
            int chars = 1;
            if (c < 0x80) {
                width = 1;
            } else if (c < 0x800) {
                width = 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                width = 4;
                chars = 2;
            } else {
                width = 3;
            }
            if (bytes + width > budget) {
                break;
            }
            bytes += width;
            i += chars;
        }
        return i;
    }
}
