package io.resq.redis;

/**
 * Fewer replicas (or local AOF fsyncs) than {@link RedisTransport.Builder#waitForReplicas} or
 * {@link RedisTransport.Builder#waitForAof} asked for acknowledged a write within the timeout. The
 * write is in the primary's memory but may be lost if the primary fails before replicating it, so
 * the send is reported as failed: {@code Enqueue.send} throws a {@code SendException} naming
 * this failure, the send channel retries and then reports the message in {@code deadLetters()}, and a
 * redelivery or dead-letter copy leaves its original unacked. Because the write did happen, a
 * retried send may put the message in the stream twice, with the same message id.
 */
public class RedisDurabilityException extends RedisTransportException {

    /** An exception whose message names the address, the stream and what was acknowledged. */
    public RedisDurabilityException(String message) {
        super(message, null);
    }
}
