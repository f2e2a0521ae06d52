package io.resq.testkit;

import io.resq.memory.InMemoryTransport;
import io.resq.spi.Transport;

/** The processor scenarios on the in-memory transport. */
class InMemoryProcessorContractTest extends ProcessorContract {

    @Override
    protected Transport createTransport() {
        return InMemoryTransport.create();
    }
}
