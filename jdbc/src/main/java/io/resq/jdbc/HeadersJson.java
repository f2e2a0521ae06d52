package io.resq.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;

/** Broker headers as the {@code headers} column stores them: a JSON object of strings. */
final class HeadersJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() { };

    private HeadersJson() {
    }

    static String write(Map<String, String> headers) {
        try {
            return MAPPER.writeValueAsString(headers);
        } catch (JsonProcessingException e) {
            // A map of strings always serialises; this would be a Jackson bug.
            throw new IllegalStateException("headers do not serialise as JSON", e);
        }
    }

    /** The headers, or an {@link IllegalArgumentException} saying why the column does not hold them (never quoting it). */
    static Map<String, String> read(String json) {
        try {
            Map<String, String> headers = MAPPER.readValue(json, MAP);
            if (headers == null) {
                throw new IllegalArgumentException("the headers column holds JSON null, not an object of strings");
            }
            return headers;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the headers column is not a JSON object of strings ("
                    + e.getOriginalMessage() + ")", e);
        }
    }
}
