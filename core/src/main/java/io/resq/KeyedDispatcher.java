package io.resq;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * Runs tasks on an executor so that tasks with the same key never run at the same time and run in
 * submission order; tasks without a key run freely. A key's next task is submitted to the executor
 * when its previous one finishes, so one busy key never holds a worker that others could use.
 *
 * <p>Threads: {@link #submit} is called by the fetch thread, completions by worker threads; the
 * per-key queues are guarded by {@code this}.
 */
final class KeyedDispatcher<R extends Runnable> {

    private final Executor executor;
    private final Consumer<R> onRejected;
    private final Map<String, ArrayDeque<R>> waiting = new HashMap<>();

    /** {@code onRejected} gets every task the executor refused (because it shut down), so none is forgotten. */
    KeyedDispatcher(Executor executor, Consumer<R> onRejected) {
        this.executor = executor;
        this.onRejected = onRejected;
    }

    void submit(String key, R task) {
        if (key == null) {
            try {
                executor.execute(task);
            } catch (RejectedExecutionException e) {
                onRejected.accept(task);
            }
            return;
        }
        synchronized (this) {
            ArrayDeque<R> queue = waiting.get(key);
            if (queue != null) {
                queue.add(task);
                return;
            }
            waiting.put(key, new ArrayDeque<>());
        }
        execute(key, task);
    }

    private void runThenNext(String key, R task) {
        try {
            task.run();
        } finally {
            R next;
            synchronized (this) {
                ArrayDeque<R> queue = waiting.get(key);
                next = queue == null ? null : queue.poll();
                if (next == null) {
                    waiting.remove(key);
                }
            }
            if (next != null) {
                execute(key, next);
            }
        }
    }

    private void execute(String key, R task) {
        try {
            executor.execute(() -> runThenNext(key, task));
        } catch (RejectedExecutionException e) {
            // The executor shut down: this task and every one waiting behind it on the key are handed back.
            ArrayDeque<R> rest;
            synchronized (this) {
                rest = waiting.remove(key);
            }
            onRejected.accept(task);
            if (rest != null) {
                rest.forEach(onRejected);
            }
        }
    }
}
