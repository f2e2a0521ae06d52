package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class FailureTest {

    private static final Instant DATE = Instant.parse("2026-11-23T10:15:31Z");

    private static Failure withMessage(String message) {
        return new Failure(500, "T", message, "", DATE);
    }

    private static Failure withStackTrace(String stackTrace) {
        return new Failure(500, "T", "m", stackTrace, DATE);
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Fails if {@code s} holds an unpaired surrogate, i.e. if it has no exact UTF-8 form. */
    private static void assertEncodesToValidUtf8(String s) {
        try {
            byte[] bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(java.nio.CharBuffer.wrap(s)).array();
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw new AssertionError("not valid UTF-8: " + e, e);
        }
    }

    @Test
    void aHugeMessageIsCutTo2KiBAndSaysSo() {
        Failure f = withMessage("a".repeat(100_000));

        assertThat(utf8Length(f.message())).isLessThanOrEqualTo(Failure.MAX_MESSAGE_BYTES).isGreaterThan(Failure.MAX_MESSAGE_BYTES - 8);
        assertThat(f.message()).startsWith("aaaa").endsWith("[cut, 100000 bytes in all]");
    }

    @Test
    void fourByteCharactersAreNeverSplit() {
        String emoji = "\uD83D\uDE00"; // U+1F600, 4 bytes in UTF-8, a surrogate pair in Java
        String message = emoji.repeat(1_000);

        Failure f = withMessage(message);

        assertThat(utf8Length(f.message())).isLessThanOrEqualTo(Failure.MAX_MESSAGE_BYTES);
        assertEncodesToValidUtf8(f.message());
        String kept = f.message().substring(0, f.message().indexOf(" ... [cut"));
        assertThat(kept.length() % 2).isZero();
        assertThat(message).startsWith(kept);
        assertThat(kept.length() / 2).isGreaterThan((Failure.MAX_MESSAGE_BYTES - 40) / 4);
        assertThat(f.message()).endsWith("[cut, 4000 bytes in all]");
    }

    @Test
    void threeByteCharactersAreCountedAsThreeBytes() {
        String cjk = "\u6F22"; // 漢, 3 bytes in UTF-8
        Failure fits = withMessage(cjk.repeat(Failure.MAX_MESSAGE_BYTES / 3));
        Failure over = withMessage(cjk.repeat(Failure.MAX_MESSAGE_BYTES / 3 + 1));

        assertThat(fits.message()).isEqualTo(cjk.repeat(Failure.MAX_MESSAGE_BYTES / 3));
        assertThat(utf8Length(over.message())).isLessThanOrEqualTo(Failure.MAX_MESSAGE_BYTES);
        assertThat(over.message()).startsWith(cjk.repeat(600)).endsWith("[cut, " + (Failure.MAX_MESSAGE_BYTES / 3 + 1) * 3 + " bytes in all]");
        assertEncodesToValidUtf8(over.message());
    }

    @Test
    void aMessageThatFitsIsKeptAsItIs() {
        String exactly = "b".repeat(Failure.MAX_MESSAGE_BYTES);
        assertThat(withMessage(exactly).message()).isSameAs(exactly);
        assertThat(withMessage("db down").message()).isEqualTo("db down");
    }

    @Test
    void aNullMessageStaysNull() {
        assertThat(withMessage(null).message()).isNull();
        assertThat(Failure.of(new IllegalStateException(), DATE).message()).isNull();
    }

    @Test
    void stackTracesAreBoundedTo8KiBOfUtf8() {
        Failure ascii = withStackTrace("x".repeat(20_000));
        Failure twoByte = withStackTrace("\u00E9".repeat(20_000)); // é, 2 bytes

        assertThat(utf8Length(ascii.stackTrace())).isEqualTo(Failure.MAX_STACK_TRACE_BYTES);
        assertThat(ascii.stackTrace()).endsWith("[cut, 20000 bytes in all]");
        assertThat(utf8Length(twoByte.stackTrace())).isLessThanOrEqualTo(Failure.MAX_STACK_TRACE_BYTES)
                .isGreaterThan(Failure.MAX_STACK_TRACE_BYTES - 2);
        assertThat(twoByte.stackTrace()).endsWith("[cut, 40000 bytes in all]");
        assertThat(withStackTrace(null).stackTrace()).isEmpty();
    }

    @Test
    void aFailureBuiltFromAnExceptionIsBounded() {
        Failure f = Failure.of(new IllegalStateException("\u00E9".repeat(5_000)), DATE);

        assertThat(utf8Length(f.message())).isLessThanOrEqualTo(Failure.MAX_MESSAGE_BYTES);
        assertThat(utf8Length(f.stackTrace())).isLessThanOrEqualTo(Failure.MAX_STACK_TRACE_BYTES);
        assertThat(f.stackTrace()).startsWith(IllegalStateException.class.getName());
    }

    @Test
    void theTypeIsBoundedLikeTheMessage() {
        // A history read from a foreign body may carry anything as "type".
        Failure f = new Failure(500, "T".repeat(100_000), "m", "", DATE);
        assertThat(utf8Length(f.type())).isLessThanOrEqualTo(Failure.MAX_MESSAGE_BYTES);
    }

    @Test
    void withoutStackTraceKeepsEverythingElse() {
        Failure f = Failure.of(new ProcessingException(422, "no lines"), DATE);

        Failure shrunk = f.withoutStackTrace();

        assertThat(f.stackTrace()).isNotEmpty();
        assertThat(shrunk).isEqualTo(new Failure(422, ProcessingException.class.getName(), "no lines", "", DATE));
        assertThat(shrunk.withoutStackTrace()).isSameAs(shrunk);
    }
}
