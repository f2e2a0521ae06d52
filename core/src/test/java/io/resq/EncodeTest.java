package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Outbound;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code Queues.encode} gives exactly what an Enqueue hands the transport, so a stored copy sent later is the same message. */
class EncodeTest {

    private final InMemoryTransport transport = InMemoryTransport.create();
    private final Queues queues = Queues.using(transport);

    @AfterEach
    void close() {
        queues.close();
    }

    @Test
    void encodedMessageIsWhatEnqueueSends() {
        Msg<String> msg = Msg.builder("hello").key("k-1").category("Greeting").attribute("trace", "t-9")
                .header("traceparent", "00-abc-def-01").build();

        Outbound out = queues.encode("greetings", TypeRef.of(String.class), msg);
        queues.enqueue("greetings", String.class).send(msg);

        assertThat(out.id()).isEqualTo(msg.id());
        assertThat(out.key()).isEqualTo("k-1");
        assertThat(out.headers()).containsEntry("traceparent", "00-abc-def-01");
        assertThat(transport.bodies("greetings")).singleElement().isEqualTo(out.body());
    }

    @Test
    void anEncodedMessageSentThroughTheTransportReadsBackWithEveryField() {
        Msg<List<Integer>> msg = Msg.builder(List.of(1, 2, 3)).key("k").category("Numbers").attribute("a", "b").build();

        Outbound out = queues.encode("numbers", new TypeRef<List<Integer>>() { }, msg);
        transport.sender("numbers").send(out).join();

        Msg<List<Integer>> back = transport.messages("numbers", new TypeRef<List<Integer>>() { }).get(0);
        assertThat(back.id()).isEqualTo(msg.id());
        assertThat(back.queue()).isEqualTo("numbers");
        assertThat(back.payload()).containsExactly(1, 2, 3);
        assertThat(back.attributes()).isEqualTo(Map.of("a", "b"));
        assertThat(back.category()).isEqualTo("Numbers");
    }

    @Test
    void aBodyOverTheSendLimitIsRefusedAsEnqueueRefusesIt() {
        Queues small = Queues.builder(transport).maxBodySize(1000).build();
        assertThatThrownBy(() -> small.encode("q", TypeRef.of(String.class), Msg.of("x".repeat(2000))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("send limit");
    }
}
