package io.resq.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The ObjectMapper resq uses when the user gives none. Not public API. */
public final class Json {

    private static final ObjectMapper DEFAULT = newMapper();

    private Json() {
    }

    /**
     * A shared mapper with java.time support, ISO dates and unknown properties ignored (a producer
     * may add fields). Default typing is never enabled: a body cannot choose the class it becomes.
     */
    public static ObjectMapper defaultMapper() {
        return DEFAULT;
    }

    /** A new mapper configured like {@link #defaultMapper()}. */
    public static ObjectMapper newMapper() {
        return new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }
}
