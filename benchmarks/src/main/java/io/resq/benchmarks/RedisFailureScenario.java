package io.resq.benchmarks;

import io.resq.Enqueue;
import io.resq.Processor;
import io.resq.Queues;
import io.resq.redis.RedisTransport;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.params.XReadGroupParams;
import redis.clients.jedis.resps.StreamEntry;

/**
 * Redis Streams with a handler that fails for every tenth message, always: the same scenario and
 * policy as {@link KafkaFailureScenario} (three calls 10 ms apart, then a dead-letter stream, one
 * consumer, one handler at a time). Both sides read resq's envelope: the raw side preloads
 * {@link EnvelopeJson} bodies and decodes each with Jackson, resq preloads through its send channel.
 * The raw loop reads 16 at a time with {@code XREADGROUP}, sleeps and calls again, {@code XADD}s a
 * message that failed three times to a dead-letter stream (Redis' reply is the confirmation), and
 * {@code XACK}s each message; it logs a line per retry and per dead letter, as resq's default listener does.
 */
final class RedisFailureScenario {

    private static final Logger LOG = LoggerFactory.getLogger(RedisFailureScenario.class);

    private RedisFailureScenario() {
    }

    static KafkaFailureScenario.Outcome raw(String uri, int n) throws Exception {
        String stream = "bench_fail_raw_" + UUID.randomUUID();
        String deadLetters = stream + "_deadletter";
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        try (RedisClient client = RedisClient.create(uri)) {
            for (int from = 0; from < n; from += 1_000) {
                try (AbstractPipeline p = client.pipelined()) {
                    for (int i = from; i < Math.min(n, from + 1_000); i++) {
                        EnvelopeJson e = EnvelopeJson.of(stream, TimedBody.of(i));
                        p.xadd(stream, StreamEntryID.NEW_ENTRY, Map.of("resq-id", e.id(),
                                "body", new String(e.toBytes(), StandardCharsets.UTF_8)));
                    }
                    p.sync();
                }
            }
            client.xgroupCreate(stream, "g", new StreamEntryID(0, 0), false);
            Map<String, StreamEntryID> from = Map.of(stream, StreamEntryID.XREADGROUP_UNDELIVERED_ENTRY);
            XReadGroupParams params = XReadGroupParams.xReadGroupParams().count(16).block(250);
            int seen = 0;
            while (seen < n) {
                List<Map.Entry<String, List<StreamEntry>>> got = client.xreadGroup("g", "c1", params, from);
                if (got == null) {
                    continue;
                }
                for (Map.Entry<String, List<StreamEntry>> s : got) {
                    for (StreamEntry e : s.getValue()) {
                        tally.starting();
                        settle(client, stream, deadLetters, e, tally);
                        client.xack(stream, "g", e.getID());
                        seen++;
                    }
                }
            }
            KafkaFailureScenario.Outcome outcome = tally.await("raw, 10% failing");
            client.del(stream, deadLetters);
            return outcome;
        }
    }

    private static void settle(RedisClient client, String stream, String deadLetters, StreamEntry e, KafkaFailureScenario.Tally tally)
            throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                KafkaFailureScenario.handle(EnvelopeJson.read(e.getFields().get("body").getBytes(StandardCharsets.UTF_8)).payload());
                tally.settled(tally.ok);
                return;
            } catch (Exception failure) {
                if (attempt < KafkaFailureScenario.ATTEMPTS) {
                    LOG.info("retrying {} of {} after attempt {} failed ({}), next in {} ms", e.getID(), stream, attempt,
                            failure.getMessage(), KafkaFailureScenario.BACKOFF.toMillis());
                    Thread.sleep(KafkaFailureScenario.BACKOFF.toMillis());
                    continue;
                }
                client.xadd(deadLetters, StreamEntryID.NEW_ENTRY, Map.of("resq-id", e.getFields().get("resq-id"),
                        "body", e.getFields().get("body"), "error", String.valueOf(failure.getMessage())));
                LOG.error("dead-lettered {} of {} to {} after {} calls (last: {})", e.getID(), stream, deadLetters, attempt,
                        failure.getMessage());
                tally.settled(tally.dead);
                return;
            }
        }
    }

    static KafkaFailureScenario.Outcome resq(String uri, int n) throws Exception {
        String stream = "bench_fail_resq_" + UUID.randomUUID();
        KafkaFailureScenario.Tally tally = new KafkaFailureScenario.Tally(n);
        try (Queues queues = Queues.using(RedisTransport.create(uri))) {
            Enqueue<String> out = queues.enqueue(stream, String.class);
            for (int i = 0; i < n; i++) {
                out.messages().put(TimedBody.of(i));
            }
            try (RedisClient client = RedisClient.create(uri)) {
                while (client.xlen(stream) < n) {
                    Thread.sleep(5);
                }
            }
            Processor<String> p = KafkaFailureScenario.startFailingProcessor(queues, stream, tally);
            try {
                return tally.await("resq, 10% failing");
            } finally {
                p.close();
                try (RedisClient client = RedisClient.create(uri)) {
                    client.del(stream, stream + "_deadletter");
                }
            }
        }
    }
}
