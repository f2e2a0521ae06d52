package io.resq.redis;

import io.resq.spi.Transport;
import io.resq.testkit.Brokers;
import io.resq.testkit.ProcessorContract;

/** The shared processor scenarios on Redis Streams ({@code RESQ_REDIS_URI} or 127.0.0.1:6379). */
class RedisProcessorContractTest extends ProcessorContract {

    @Override
    protected Transport createTransport() {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        return RedisTransport.create(Brokers.redisUri());
    }
}
