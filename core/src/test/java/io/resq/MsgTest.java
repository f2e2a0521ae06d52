package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class MsgTest {

    private static Failure failure(int n) {
        return new Failure(500, "E" + n, "m" + n, "", Instant.EPOCH.plusSeconds(n));
    }

    @Test
    void failedAppendsOneFailureAndKeepsTheId() {
        Msg<String> m = Msg.builder("p").key("k").build();

        Msg<String> failed = m.failed(new ProcessingException(422, "no lines"));

        assertThat(failed.id()).isEqualTo(m.id());
        assertThat(failed.key()).isEqualTo("k");
        assertThat(m.errors()).isEmpty();
        assertThat(failed.errors()).singleElement().satisfies(f -> {
            assertThat(f.statusCode()).isEqualTo(422);
            assertThat(f.type()).isEqualTo(ProcessingException.class.getName());
            assertThat(f.message()).isEqualTo("no lines");
            assertThat(f.stackTrace()).contains("MsgTest");
        });
    }

    @Test
    void historyKeepsTheFirstTwoAndTheLastEight() {
        List<Failure> fifteen = new ArrayList<>();
        for (int i = 1; i <= 15; i++) {
            fifteen.add(failure(i));
        }
        Msg<String> m = Msg.builder("p").errors(fifteen).build();

        assertThat(m.errors()).extracting(Failure::type)
                .containsExactly("E1", "E2", "E8", "E9", "E10", "E11", "E12", "E13", "E14", "E15");
        assertThat(m.failed(new RuntimeException("x")).errors()).hasSize(Msg.MAX_HISTORY)
                .extracting(Failure::type).startsWith("E1", "E2").endsWith(RuntimeException.class.getName());
    }

    @Test
    void stackTracesAreBoundedTo8KiB() {
        Failure f = new Failure(500, "T", "m", "x".repeat(20_000), Instant.EPOCH);
        assertThat(f.stackTrace()).hasSize(Failure.MAX_STACK_TRACE_BYTES);
    }

    @Test
    void statusCodesFollowTheDesign() {
        assertThat(Failure.statusOf(new IllegalStateException())).isEqualTo(500);
        assertThat(Failure.statusOf(new TimeoutException())).isEqualTo(504);
        assertThat(Failure.statusOf(new ProcessingException(409, "conflict"))).isEqualTo(409);
        assertThat(Failure.statusOf(new java.util.concurrent.ExecutionException(new TimeoutException()))).isEqualTo(504);
    }

    @Test
    void builderValidatesArguments() {
        assertThatThrownBy(() -> Msg.of(null)).isInstanceOf(NullPointerException.class).hasMessage("payload must not be null");
        assertThatThrownBy(() -> Msg.builder("p").id(" ")).isInstanceOf(IllegalArgumentException.class).hasMessage("id must not be blank");
        assertThatThrownBy(() -> Msg.builder("p").attempt(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attempt must be >= 1, was 0");
        assertThatThrownBy(() -> new ProcessingException(99, "x")).hasMessageContaining("was 99");
    }

    @Test
    void toStringNeverShowsThePayload() {
        assertThat(Msg.of("secret-card-number").toString()).doesNotContain("secret");
    }

    @Test
    void attributesAreImmutable() {
        Msg<String> m = Msg.builder("p").attribute("a", "1").build();
        assertThatThrownBy(() -> m.attributes().put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
    }
}
