package io.resq.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.resq.spi.Delivery;
import io.resq.spi.Outbound;
import io.resq.spi.Receiver;
import io.resq.spi.ReceiverOptions;
import io.resq.testkit.Brokers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.params.XPendingParams;

/**
 * Receivers' blocking reads never hold every pooled connection: keep-alives and ack flushes get
 * one in time even when a small pool serves more receivers than it has connections.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisPoolTest {

    /** Three times the pool size, each polling without pause, as processors do. */
    private static final int RECEIVERS = 6;

    @BeforeEach
    void reachable() {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
    }

    /** One delivery as a polling thread saw it. */
    private record Seen(int receiver, Delivery delivery) {
    }

    @Test
    void keepAliveAndAcksAreNotStarvedByBlockingReadsOnASmallPool() throws Exception {
        String q = "pool_" + UUID.randomUUID().toString().substring(0, 8);
        // Keep-alive every 166 ms; an entry idle for 500 ms is reclaimed by any other receiver.
        Duration visibility = Duration.ofMillis(500);
        AtomicBoolean running = new AtomicBoolean(true);
        LinkedBlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
        Queue<Throwable> pollErrors = new ConcurrentLinkedQueue<>();
        List<Thread> pollers = new ArrayList<>();
        try (RedisTransport t = RedisTransport.builder(Brokers.redisUri()).maxConnections(2).visibilityTimeout(visibility).build();
             RedisClient redis = RedisClient.create(Brokers.redisUri())) {
            for (int i = 0; i < RECEIVERS; i++) {
                Receiver r = t.receiver(q, ReceiverOptions.group("g"));
                int index = i;
                Thread poller = new Thread(() -> {
                    while (running.get()) {
                        try {
                            r.poll(16, Duration.ofMillis(250)).forEach(d -> seen.add(new Seen(index, d)));
                        } catch (InterruptedException e) {
                            return;
                        } catch (RuntimeException e) {
                            pollErrors.add(e);
                        }
                    }
                }, "poller-" + i);
                poller.start();
                pollers.add(poller);
            }

            // A slow handler holds one delivery for three visibility timeouts; its keep-alive must keep it.
            t.sender(q).send(Outbound.of("held", new byte[] {1})).get(10, TimeUnit.SECONDS);
            Seen held = seen.poll(10, TimeUnit.SECONDS);
            assertThat(held).as("the held message was delivered").isNotNull();
            Seen stolen = seen.poll(3 * visibility.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(stolen).as("a delivery held by a live consumer (receiver %d) is not reclaimed by another",
                    held.receiver()).isNull();
            held.delivery().ack();

            // Each ack leaves the pending list soon, not once some blocking read lets go of a connection.
            List<Long> ackMillis = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                t.sender(q).send(Outbound.of("m" + i, new byte[] {1})).get(10, TimeUnit.SECONDS);
                Seen s = seen.poll(10, TimeUnit.SECONDS);
                assertThat(s).as("message m%d delivered", i).isNotNull();
                String entry = ((RedisDelivery) s.delivery()).entryId();
                XPendingParams thisEntry = XPendingParams.xPendingParams(entry, entry, 1);
                long start = System.nanoTime();
                s.delivery().ack();
                while (!redis.xpending(q, "g", thisEntry).isEmpty() && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2)) {
                    Thread.sleep(1);
                }
                ackMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            }
            Collections.sort(ackMillis);
            System.out.println("RedisPoolTest: ack visible in XPENDING after (ms, sorted): " + ackMillis);
            // Behind blocking reads an ack waits for a 250 ms read slice to end; with a free connection, milliseconds.
            assertThat(ackMillis.get(ackMillis.size() / 2)).as("median ms from ack() to XPENDING without the entry (all: %s)",
                    ackMillis).isLessThan(100);
            assertThat(ackMillis.get(ackMillis.size() - 1)).as("slowest ack, ms (all: %s)", ackMillis)
                    .isLessThan(visibility.toMillis());
            assertThat(pollErrors).as("poll errors").isEmpty();
        } finally {
            running.set(false);
            for (Thread p : pollers) {
                p.join(5000);
            }
        }
    }
}
