package io.resq.opentelemetry;

import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.Map;

/** Reads a propagated context from {@link io.resq.Msg#headers()}. */
enum HeadersGetter implements TextMapGetter<Map<String, String>> {
    INSTANCE;

    // Deprecated in the API, but propagators that scan for prefixed keys still call it.
    @Override
    @SuppressWarnings("deprecation")
    public Iterable<String> keys(Map<String, String> carrier) {
        return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
        return carrier == null ? null : carrier.get(key);
    }
}
