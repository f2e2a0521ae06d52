package io.resq.memory;

import io.resq.spi.Delivery;
import io.resq.spi.Receiver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A receiver of the in-memory transport. {@link #poll} is called by one fetching thread; pause,
 * resume and close may come from any thread, hence the volatile flags.
 */
final class MemoryReceiver implements Receiver {

    private final MemoryQueue queue;
    private final Runnable onClose;
    private volatile boolean paused;
    private volatile boolean closed;

    MemoryReceiver(MemoryQueue queue, Runnable onClose) {
        this.queue = queue;
        this.onClose = onClose;
    }

    @Override
    public List<Delivery> poll(int max, Duration wait) throws InterruptedException {
        if (max < 1) {
            throw new IllegalArgumentException("max must be >= 1, was " + max);
        }
        if (closed) {
            throw new IllegalStateException("receiver is closed");
        }
        List<Delivery> out = new ArrayList<>();
        for (MemoryQueue.Stored s : queue.take(this, max, wait.toNanos(), () -> paused || closed)) {
            out.add(new MemoryDelivery(queue, s));
        }
        if (closed) {
            // close() ran while we were taking: what we took was not released by it.
            out.forEach(Delivery::release);
            return List.of();
        }
        return out;
    }

    @Override
    public void pause() {
        paused = true;
    }

    @Override
    public void resume() {
        paused = false;
        queue.wakeUp();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.releaseAll(this);
        onClose.run();
    }
}
