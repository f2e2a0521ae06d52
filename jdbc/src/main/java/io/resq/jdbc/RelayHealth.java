package io.resq.jdbc;

import io.resq.spi.Health;
import java.util.Objects;

/**
 * An {@link OutboxRelay}'s state at one moment.
 *
 * @param status       UP while the relay reaches the database and the broker confirms its sends (or it
 *                     has nothing to send); DOWN with the cause while the broker refuses or the
 *                     database cannot be reached (the relay backs off and tries again), and once closed
 * @param running      false before {@link OutboxRelay#start()} and after {@link OutboxRelay#close()}
 * @param partitions   how many partitions the outbox's keys are spread over
 * @param owned        how many of them this relay sends now (the others are other relays')
 * @param sent         rows sent and confirmed by the broker since start (a row sent again after a crash counts again)
 * @param deadLettered rows moved to the dead-letter table since start
 * @param refused      batches the broker refused since start (each is tried again after a back-off)
 */
public record RelayHealth(Health status, boolean running, int partitions, int owned, long sent, long deadLettered, long refused) {

    /** Validates the arguments. */
    public RelayHealth {
        Objects.requireNonNull(status, "status must not be null");
    }

    /** True when {@link #status()} is UP. */
    public boolean isUp() {
        return status.isUp();
    }
}
