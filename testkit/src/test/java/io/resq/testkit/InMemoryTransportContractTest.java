package io.resq.testkit;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Transport;

/** The in-memory transport passes the same compliance suite as the broker transports. */
class InMemoryTransportContractTest extends TransportContract {

    @Override
    protected Transport createTransport() {
        return InMemoryTransport.create();
    }
}
