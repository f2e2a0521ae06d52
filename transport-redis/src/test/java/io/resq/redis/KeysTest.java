package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.util.JedisClusterCRC16;

/** A queue's stream and its delayed sets share one Redis Cluster hash slot, whatever the queue is called. */
class KeysTest {

    @Test
    void delayedSetsHashToTheStreamsSlotForEveryKindOfName() {
        for (String queue : List.of("orders", "a{b", "{}x", "x{orders}y", "{a}{b}", "}{", "a}b", "{", "}", "q{}{t}")) {
            int slot = JedisClusterCRC16.getSlot(Keys.stream(queue));
            assertThat(JedisClusterCRC16.getSlot(Keys.delayed(queue))).as("delayed set of %s", queue).isEqualTo(slot);
            assertThat(JedisClusterCRC16.getSlot(Keys.delayed(queue, "billing{eu}"))).as("group set of %s", queue).isEqualTo(slot);
        }
    }

    @Test
    void namesKeepTheirReadableForm() {
        assertThat(Keys.delayed("orders")).isEqualTo("{orders}:resq-delayed");
        assertThat(Keys.delayed("x{orders}y")).isEqualTo("x{orders}y:resq-delayed");
        assertThat(Keys.delayed("orders", "billing")).isEqualTo("{orders}:resq-delayed:billing");
        assertThat(Keys.delayed("a{b")).endsWith("}:resq-delayed:a{b");
    }
}
