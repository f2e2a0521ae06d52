package io.resq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PrefetchSlotsTest {

    private static final long LONG_WAIT = TimeUnit.SECONDS.toNanos(20);

    /** Starts a thread waiting for a refill the way the fetch thread does; completes with the result. */
    private static CompletableFuture<Boolean> waitForRefill(PrefetchSlots slots) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                done.complete(slots.awaitRefill(LONG_WAIT));
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "test-fetch");
        t.setDaemon(true);
        t.start();
        return done;
    }

    @Test
    void takesNoMoreThanIsFree() {
        PrefetchSlots slots = new PrefetchSlots(16, 1);
        assertThat(slots.take(10)).isEqualTo(10);
        assertThat(slots.take(10)).isEqualTo(6);
        assertThat(slots.take(1)).isZero();
        slots.release(3);
        assertThat(slots.free()).isEqualTo(3);
        assertThat(slots.take(Integer.MAX_VALUE)).isEqualTo(3);
    }

    /** With every slot taken, a waiting fetch thread sleeps through {@code batch - 1} releases and wakes at the next. */
    private static void assertWokenAtBatch(int prefetch, int concurrency, int batch) throws Exception {
        PrefetchSlots slots = new PrefetchSlots(prefetch, concurrency);
        slots.take(prefetch);
        CompletableFuture<Boolean> refilled = waitForRefill(slots);

        slots.release(batch - 1);
        Thread.sleep(300);
        assertThat(refilled).as("still waiting with %d of %d free", batch - 1, prefetch).isNotDone();

        slots.release();
        assertThat(refilled.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(slots.free()).isEqualTo(batch);
    }

    @Test
    void aWaitingFetchThreadIsWokenByTheReleaseThatCompletesHalfThePrefetch() throws Exception {
        assertWokenAtBatch(16, 1, 8);
    }

    @Test
    void withPrefetchEqualToConcurrencyEveryFreeSlotIsAnIdleWorkerSoOneWakesIt() throws Exception {
        assertWokenAtBatch(4, 4, 1);
    }

    @Test
    void theRefillBatchLeavesAQueuedMessageForEveryWorker() throws Exception {
        // prefetch 10, concurrency 8: waiting for half (5) would leave 3 workers idle; refill at 2.
        assertWokenAtBatch(10, 8, 2);
    }

    @Test
    void afterTheTimeoutAnyFreeSlotWillDoAndNoneReportsFalse() throws Exception {
        PrefetchSlots slots = new PrefetchSlots(16, 1);
        slots.take(16);
        assertThat(slots.awaitRefill(TimeUnit.MILLISECONDS.toNanos(50))).as("nothing free").isFalse();
        slots.release(3);
        assertThat(slots.awaitRefill(TimeUnit.MILLISECONDS.toNanos(50))).as("3 free, fewer than a batch").isTrue();
    }

    @Test
    void anInterruptedWaitThrows() {
        PrefetchSlots slots = new PrefetchSlots(16, 1);
        slots.take(16);
        Thread.currentThread().interrupt();
        assertThatThrownBy(() -> slots.awaitRefill(LONG_WAIT)).isInstanceOf(InterruptedException.class);
    }
}
