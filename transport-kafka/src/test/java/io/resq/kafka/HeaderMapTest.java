package io.resq.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** The SPI's view of a record's headers behaves as the ordered, read-only map it replaced. */
class HeaderMapTest {

    private static RecordHeaders headers(String... namesAndValues) {
        RecordHeaders h = new RecordHeaders();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            h.add(namesAndValues[i], namesAndValues[i + 1] == null ? null : namesAndValues[i + 1].getBytes(StandardCharsets.UTF_8));
        }
        return h;
    }

    @Test
    void keepsTheRecordsOrderAndTheLastValueOfARepeatedName() {
        Map<String, String> m = HeaderMapping.fromKafka(headers("b", "1", "a", "2", "b", "3", HeaderMapping.DUE, "99", "c", null));
        assertThat(List.copyOf(m.keySet())).containsExactly("b", "a", "c");
        assertThat(m).containsEntry("b", "3").containsEntry("a", "2").containsEntry("c", "").hasSize(3);
        assertThat(m.get("missing")).isNull();
        assertThat(m.containsKey(HeaderMapping.DUE)).as("the transport's own due header is not shown").isFalse();
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("b", "3");
        expected.put("a", "2");
        expected.put("c", "");
        assertThat(m).isEqualTo(expected);
        assertThat(m.hashCode()).isEqualTo(expected.hashCode());
        Map<String, String> seen = new LinkedHashMap<>();
        m.forEach(seen::put);
        assertThat(seen).isEqualTo(expected);
    }

    @Test
    void isReadOnlyAndEmptyWithoutHeaders() {
        Map<String, String> m = HeaderMapping.fromKafka(headers("a", "1"));
        assertThatThrownBy(() -> m.put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> m.entrySet().iterator().next().setValue("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(m::clear).isInstanceOf(UnsupportedOperationException.class);
        assertThat(HeaderMapping.fromKafka(new RecordHeaders())).isEmpty();
        assertThat(HeaderMapping.fromKafka(headers(HeaderMapping.DUE, "1"))).isEmpty();
    }
}
