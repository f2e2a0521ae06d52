package io.resq.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JsonErrorsTest {

    public record Line(String sku, int qty) {
    }

    public record Order(int amount, String id, List<Line> lines, Map<String, Integer> tags, long big, Instant at, BigDecimal price) {
        public Order {
            if (id != null && id.startsWith("reject")) {
                throw new IllegalArgumentException("id " + id + " is not allowed");
            }
        }
    }

    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
    @JsonSubTypes(@JsonSubTypes.Type(value = Card.class, name = "card"))
    public interface Payment {
    }

    public record Card(String number) implements Payment {
    }

    private static final ObjectMapper LENIENT = Json.newMapper();
    private static final ObjectMapper STRICT = Json.newMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ObjectMapper NO_NULL_PRIMITIVES = Json.newMapper()
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private static Throwable readFailure(ObjectMapper mapper, String json, Class<?> type) {
        Throwable e = catchThrowable(() -> mapper.readValue(json.getBytes(StandardCharsets.UTF_8), type));
        assertThat(e).as("reading %s as %s", json, type.getSimpleName()).isNotNull();
        return e;
    }

    /** Input, the secret it holds, the type it is read as, and what describe must say. */
    static Stream<Arguments> inputs() {
        return Stream.of(
                Arguments.of(LENIENT, "{\"amount\":\"s3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "cannot bind Order.amount to int: invalid value"),
                Arguments.of(LENIENT, "{\"price\":\"12345678901234567.89x\"}", "12345678901234567.89", Order.class,
                        "cannot bind Order.price to BigDecimal: invalid value"),
                Arguments.of(LENIENT, "{\"amount\":12345678901234567890}", "12345678901234567890", Order.class,
                        "cannot bind Order.amount to int: number out of range"),
                Arguments.of(LENIENT, "{\"big\":98765432109876543210}", "98765432109876543210", Order.class,
                        "cannot bind Order.big to long: number out of range"),
                Arguments.of(LENIENT, "{\"lines\":[{\"sku\":\"a\"},{\"qty\":\"s3cr3t-value\"}]}", "s3cr3t-value", Order.class,
                        "cannot bind Order.lines[1].qty to int: invalid value"),
                Arguments.of(LENIENT, "{\"tags\":{\"alice@example.com\":\"s3cr3t-value\"}}", "alice@example.com", Order.class,
                        "cannot bind Order.tags.<key> to Integer: invalid value"),
                Arguments.of(LENIENT, "{\"at\":\"s3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "cannot bind Order.at to Instant: invalid value"),
                Arguments.of(LENIENT, "{\"id\":\"reject-s3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "cannot bind the value to Order: rejected by its constructor (IllegalArgumentException)"),
                Arguments.of(LENIENT, "{\"amount\":[\"s3cr3t-value\"]}", "s3cr3t-value", Order.class,
                        "cannot bind Order.amount to int: found an array"),
                Arguments.of(LENIENT, "\"s3cr3t-value\"", "s3cr3t-value", Order.class,
                        "cannot bind the value to Order: found a string"),
                Arguments.of(LENIENT, "[\"s3cr3t-value\"]", "s3cr3t-value", Order.class,
                        "cannot bind the value to Order: found an array"),
                Arguments.of(LENIENT, "\"s3cr3t-value\"", "s3cr3t-value", Integer.class,
                        "cannot bind the value to Integer: invalid value"),
                Arguments.of(LENIENT, "[1,\"s3cr3t-value\"]", "s3cr3t-value", int[].class,
                        "cannot bind int[][1] to int: invalid value"),
                Arguments.of(LENIENT, "{\"kind\":\"s3cr3t-value\",\"number\":\"4111\"}", "s3cr3t-value", Payment.class,
                        "cannot bind the value to Payment: unknown or missing type id"),
                Arguments.of(LENIENT, "", "", Order.class, "cannot bind the value to Order: no content"),
                Arguments.of(LENIENT, "secretvalue", "secretvalue", Order.class,
                        "malformed JSON at line 1, column 1: unrecognized token"),
                Arguments.of(LENIENT, "{\"amount\": s3cr3t}", "s3cr3t", Order.class,
                        "malformed JSON at line 1, column 12: unrecognized token"),
                Arguments.of(LENIENT, "{\"amount\": 1", "{\"amount\": 1", Order.class,
                        "malformed JSON at line 1, column 13: unexpected end of input"),
                Arguments.of(LENIENT, "{\"id\": \"s3cr3t-value", "s3cr3t-value", Order.class,
                        "malformed JSON at line 1, column 21 (in Order.id): unexpected end of input"),
                Arguments.of(LENIENT, "{\"id\": \"\\qs3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "malformed JSON at line 1, column 10 (in Order.id): invalid escape sequence"),
                Arguments.of(LENIENT, "{\n  \"amount\": 01234567\n}", "1234567", Order.class,
                        "malformed JSON at line 2, column 14: invalid number"),
                Arguments.of(LENIENT, "{\"amount\": 1 \"s3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "malformed JSON at line 1, column 14: unexpected character"),
                Arguments.of(STRICT, "{\"s3cr3t-field\":\"s3cr3t-value\"}", "s3cr3t-value", Order.class,
                        "cannot bind Order.s3cr3t-field: unknown field"),
                Arguments.of(STRICT, "{\"alice@example.com\":1}", "alice@example.com", Order.class,
                        "cannot bind Order.<name>: unknown field"),
                Arguments.of(NO_NULL_PRIMITIVES, "{\"amount\":null}", "", Order.class,
                        "cannot bind Order.amount to int: null where a value is required"),
                Arguments.of(STRICT, "{\"amount\":1} \"s3cr3t-value\"", "s3cr3t-value", Order.class,
                        "cannot bind the value to Order: content after the value"));
    }

    @ParameterizedTest
    @MethodSource("inputs")
    void describesWithoutTheInput(ObjectMapper mapper, String json, String secret, Class<?> type, String expected) {
        Throwable e = readFailure(mapper, json, type);

        String described = JsonErrors.describe(e, type);

        assertThat(described).isEqualTo(expected);
        if (!secret.isEmpty()) {
            assertThat(described).doesNotContain(secret);
        }
    }

    @Test
    void jacksonsOwnMessagesQuoteTheInput() {
        // Why describe exists: these are what a decoder would otherwise pass on.
        assertThat(readFailure(LENIENT, "{\"amount\":\"s3cr3t-value\"}", Order.class)).hasMessageContaining("s3cr3t-value");
        assertThat(readFailure(LENIENT, "{\"price\":\"12345678901234567.89x\"}", Order.class))
                .hasMessageContaining("12345678901234567.89");
        assertThat(readFailure(LENIENT, "{\"amount\":12345678901234567890}", Order.class)).hasMessageContaining("12345678901234567890");
        assertThat(readFailure(LENIENT, "secretvalue", Order.class)).hasMessageContaining("secretvalue");
        assertThat(readFailure(LENIENT, "{\"id\":\"reject-s3cr3t-value\"}", Order.class)).hasMessageContaining("s3cr3t-value");
        assertThat(readFailure(LENIENT, "{\"tags\":{\"alice@example.com\":\"x\"}}", Order.class)).hasMessageContaining("alice@example.com");
    }

    @Test
    void aWrapperIsDescribedByTheJacksonExceptionItCarries() {
        Throwable e = readFailure(LENIENT, "{\"amount\":\"s3cr3t-value\"}", Order.class);

        String described = JsonErrors.describe(new java.util.concurrent.CompletionException(e), Order.class);

        assertThat(described).isEqualTo("cannot bind Order.amount to int: invalid value");
    }

    @Test
    void constraintViolationsKeepTheirMessageWhichHoldsNoInput() {
        ObjectMapper small = Json.newMapper();
        small.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxStringLength(16).maxNumberLength(8).build());

        String longString = JsonErrors.describe(readFailure(small, "{\"id\":\"s3cr3t-value-s3cr3t-value\"}", Order.class), Order.class);
        String longNumber = JsonErrors.describe(readFailure(small, "{\"price\":12345678901234567.89}", Order.class), Order.class);

        assertThat(longString).startsWith("String value length").contains("exceeds the maximum allowed").doesNotContain("s3cr3t");
        assertThat(longNumber).startsWith("Number value length").doesNotContain("12345678");
    }

    @Test
    void aTreeIsDescribedToo() {
        Throwable e = catchThrowable(() -> LENIENT.readTree("{\"a\": [s3cr3t-value]}"));

        assertThat(JsonErrors.describe(e, JsonNode.class)).isEqualTo("malformed JSON at line 1, column 8: unrecognized token");
    }

    @Test
    void aVeryDeepPathKeepsItsEnds() {
        String json = "[".repeat(30) + "\"s3cr3t-value\"" + "]".repeat(30);
        Throwable e = readFailure(LENIENT, json, int[][][][][][][][][][][][][][][][][][][][][][][][][][][][][][].class);

        String described = JsonErrors.describe(e, int[].class);

        assertThat(described).startsWith("cannot bind int[][0][0][0][0]...[0]").doesNotContain("s3cr3t").hasSizeLessThan(120);
    }

    @Test
    void anythingElseIsItsClassName() {
        assertThat(JsonErrors.describe(new IllegalStateException("s3cr3t-value"), Order.class)).isEqualTo("IllegalStateException");
        assertThat(JsonErrors.describe(new java.io.CharConversionException("Invalid UTF-32 character 0x7fffffff"), null))
                .isEqualTo("CharConversionException");
        assertThat(JsonErrors.describe(null, null)).isEqualTo("unknown error");
    }

    @Test
    void aCauseCycleEndsTheSearch() {
        Exception a = new Exception("s3cr3t-value");
        Exception b = new Exception("s3cr3t-value", a);
        a.initCause(b);

        assertThat(JsonErrors.describe(b, null)).isEqualTo("Exception");
    }
}
