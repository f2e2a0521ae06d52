package io.resq.sqs;

import io.resq.spi.Capability;
import io.resq.spi.Transport;
import io.resq.testkit.TransportContract;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transport compliance suite on SQS FIFO queues: per-key order is asserted (the transport
 * declares ORDERED_BY_KEY in FIFO mode), and the delayed-delivery test goes through the
 * visibility route because FIFO queues refuse per-message DelaySeconds.
 */
class SqsFifoTransportContractTest extends TransportContract {

    @Override
    protected Transport createTransport() {
        return SqsTransport.builder(ElasticMq.client()).fifo(true).closeClient(true).build();
    }

    @Test
    void declaresOrderedByKey() {
        assertThat(transport.capabilities()).contains(Capability.ORDERED_BY_KEY).doesNotContain(Capability.CONSUMER_GROUPS);
    }
}
