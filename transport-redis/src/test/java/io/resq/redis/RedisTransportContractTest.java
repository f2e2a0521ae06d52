package io.resq.redis;

import io.resq.spi.Transport;
import io.resq.testkit.Brokers;
import io.resq.testkit.TransportContract;

/** The shared transport suite against the Redis of the tests ({@code RESQ_REDIS_URI} or 127.0.0.1:6379). */
class RedisTransportContractTest extends TransportContract {

    @Override
    protected Transport createTransport() {
        Brokers.requireReachable("Redis", Brokers.redisUri(), "RESQ_REDIS_URI");
        // A lower limit than the server's 512 MiB keeps the over-the-limit test from allocating 512 MiB;
        // RedisTransportTest checks that the default is the server's proto-max-bulk-len.
        return RedisTransport.builder(Brokers.redisUri()).maxBodySize(4 * 1024 * 1024).build();
    }
}
