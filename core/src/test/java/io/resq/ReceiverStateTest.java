package io.resq;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Health;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a processor and a dequeue see of their receiver: its state in {@code health()} and as a
 * listener event, and deliveries the transport could not read, which go to the dead-letter queue.
 */
@Timeout(30)
class ReceiverStateTest {

    private final InMemoryTransport memory = InMemoryTransport.create();
    private final FaultyTransport transport = new FaultyTransport(memory);
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final Queues queues = Queues.builder(transport).listener(new Listener() {
        @Override
        public void onReceiverStateChanged(String queue, String group, Health state) {
            events.add(queue + "/" + group + ":" + state.status() + ":" + state.detail());
        }
    }).build();

    @AfterEach
    void close() {
        queues.close();
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Waits.until(Duration.ofSeconds(10), c);
    }

    @Test
    void aReceiverThatCannotReceiveIsSeenInHealthAndAsAnEventAndSoIsItsReturn() throws Exception {
        Processor<String> p = queues.processor("q", String.class).group("g").handler(m -> { }).start();
        assertThat(queues.health().isUp()).isTrue();

        transport.receiverHealth = Health.down("consumer is being recreated after: fenced");
        assertThat(await(() -> events.size() == 1)).as("events: %s", events).isTrue();
        assertThat(events.get(0)).isEqualTo("q/g:DOWN:consumer is being recreated after: fenced");
        assertThat(p.health().receiver().isUp()).isFalse();
        assertThat(queues.health().isUp()).isFalse();

        transport.receiverHealth = Health.up("back");
        assertThat(await(() -> events.size() == 2)).as("events: %s", events).isTrue();
        assertThat(events.get(1)).isEqualTo("q/g:UP:back");
        assertThat(p.health().receiver().isUp()).isTrue();
        assertThat(queues.health().isUp()).isTrue();
    }

    @Test
    void aDequeueReportsItsReceiverStateToo() throws Exception {
        queues.dequeue("d", String.class, "g");
        transport.receiverHealth = Health.down("connection lost");
        assertThat(await(() -> events.contains("d/g:DOWN:connection lost"))).as("events: %s", events).isTrue();
    }

    @Test
    void anUnreadableDeliveryIsDeadLetteredWithTheTransportsReasonAndNeverHandled() throws Exception {
        transport.unreadable.put("bad", "record at offset 7 is corrupt and cannot be read");
        Enqueue<String> out = queues.enqueue("u", String.class);
        out.send(Msg.builder("damaged").id("bad").build());
        out.send(Msg.builder("fine").id("good").build());
        Set<String> handled = ConcurrentHashMap.newKeySet();
        queues.processor("u", String.class).msgHandler(m -> handled.add(m.id())).start();

        assertThat(await(() -> handled.contains("good") && memory.messages("u_deadletter", byte[].class).size() == 1)).isTrue();
        Msg<byte[]> dead = memory.messages("u_deadletter", byte[].class).get(0);
        assertThat(dead.id()).isEqualTo("bad");
        assertThat(dead.errors()).hasSize(1);
        assertThat(dead.errors().get(0).statusCode()).isEqualTo(400);
        assertThat(dead.errors().get(0).message()).isEqualTo("record at offset 7 is corrupt and cannot be read");
        assertThat(handled).containsExactly("good");
        assertThat(memory.messages("u", String.class)).isEmpty();
    }

    @Test
    void anUnreadableDeliveryNeverReachesADequeuesChannel() throws Exception {
        transport.unreadable.put("bad", "damaged");
        queues.enqueue("v", String.class).send(Msg.builder("damaged").id("bad").build());
        Dequeue<String> in = queues.dequeue("v", String.class);

        assertThat(await(() -> memory.messages("v_deadletter", byte[].class).size() == 1)).isTrue();
        assertThat(in.messages().poll()).isNull();
        assertThat(memory.messages("v_deadletter", byte[].class).get(0).errors().get(0).message()).isEqualTo("damaged");
    }
}
