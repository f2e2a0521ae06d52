package io.resq;

import io.github.resilience4j.core.IntervalFunction;
import io.resq.internal.DecodeException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often and how soon to try again: used for in-process retries, for redeliveries through the
 * broker and for sends. Immutable: every method returns a new policy.
 *
 * <pre>{@code
 * RetryPolicy.exponential(Duration.ofMillis(50), 2.0).maxAttempts(3).maxDelay(Duration.ofSeconds(5))
 * }</pre>
 *
 * <p>{@link #maxAttempts(int)} counts calls in all, the first included, as resilience4j does. The
 * delays come from a resilience4j {@link IntervalFunction} ({@link #intervalFunction()}).
 */
public final class RetryPolicy {

    /** Attempts of a policy that does not say: 3. */
    public static final int DEFAULT_MAX_ATTEMPTS = 3;

    private enum Kind { FIXED, LINEAR, EXPONENTIAL, RANDOM, NONE }

    private final Kind kind;
    private final Duration first;
    private final Duration second;
    private final double multiplier;
    private final int maxAttempts;
    private final Duration maxDelay;
    private final double jitter;
    private final Set<Class<? extends Throwable>> retryOn;
    private final Set<Class<? extends Throwable>> abortOn;
    private final IntervalFunction intervals;

    private RetryPolicy(Kind kind, Duration first, Duration second, double multiplier, int maxAttempts, Duration maxDelay,
                        double jitter, Set<Class<? extends Throwable>> retryOn, Set<Class<? extends Throwable>> abortOn) {
        this.kind = kind;
        this.first = first;
        this.second = second;
        this.multiplier = multiplier;
        this.maxAttempts = maxAttempts;
        this.maxDelay = maxDelay;
        this.jitter = jitter;
        this.retryOn = Set.copyOf(retryOn);
        this.abortOn = Set.copyOf(abortOn);
        this.intervals = buildIntervals();
    }

    private static RetryPolicy of(Kind kind, Duration first, Duration second, double multiplier, int maxAttempts) {
        return new RetryPolicy(kind, first, second, multiplier, maxAttempts, null, 0, Set.of(), Set.of());
    }

    /** The same delay before every retry. */
    public static RetryPolicy fixed(Duration delay) {
        return of(Kind.FIXED, positive(delay, "delay"), null, 1, DEFAULT_MAX_ATTEMPTS);
    }

    /** Delays of {@code initial}, {@code initial + step}, {@code initial + 2 step}, ... */
    public static RetryPolicy linear(Duration initial, Duration step) {
        Args.fitsMillis(step, "step");
        if (step.isNegative()) {
            throw new IllegalArgumentException("step must be >= 0, was " + step);
        }
        return of(Kind.LINEAR, positive(initial, "initial"), step, 1, DEFAULT_MAX_ATTEMPTS);
    }

    /** Delays of {@code initial}, {@code initial * multiplier}, {@code initial * multiplier^2}, ... */
    public static RetryPolicy exponential(Duration initial, double multiplier) {
        if (!(multiplier >= 1.0)) {
            throw new IllegalArgumentException("multiplier must be >= 1.0, was " + multiplier);
        }
        return of(Kind.EXPONENTIAL, positive(initial, "initial"), null, multiplier, DEFAULT_MAX_ATTEMPTS);
    }

    /** A random delay between {@code min} and {@code max} before each retry. */
    public static RetryPolicy random(Duration min, Duration max) {
        positive(min, "min");
        positive(max, "max");
        if (max.compareTo(min) < 0) {
            throw new IllegalArgumentException("max must be >= min, was " + max + " < " + min);
        }
        return of(Kind.RANDOM, min, max, 1, DEFAULT_MAX_ATTEMPTS);
    }

    /** No retry at all: one attempt. */
    public static RetryPolicy none() {
        return of(Kind.NONE, Duration.ofMillis(1), null, 1, 1);
    }

    /** Calls in all, the first included (>= 1). */
    public RetryPolicy maxAttempts(int attempts) {
        if (attempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be >= 1, was " + attempts);
        }
        if (kind == Kind.NONE && attempts != 1) {
            throw new IllegalArgumentException("RetryPolicy.none() makes one attempt; use fixed(...) or exponential(...) to retry");
        }
        return new RetryPolicy(kind, first, second, multiplier, attempts, maxDelay, jitter, retryOn, abortOn);
    }

    /** No delay is longer than {@code delay}. */
    public RetryPolicy maxDelay(Duration delay) {
        return new RetryPolicy(kind, first, second, multiplier, maxAttempts, positive(delay, "maxDelay"), jitter, retryOn, abortOn);
    }

    /** Spreads each delay randomly by up to {@code factor} either way (0 <= factor < 1), so failing consumers do not retry in step. */
    public RetryPolicy jitter(double factor) {
        if (!(factor >= 0 && factor < 1)) {
            throw new IllegalArgumentException("jitter must be >= 0 and < 1, was " + factor);
        }
        return new RetryPolicy(kind, first, second, multiplier, maxAttempts, maxDelay, factor, retryOn, abortOn);
    }

    /** Retries only these exceptions (and their subclasses); by default every exception is retried. */
    @SafeVarargs
    public final RetryPolicy retryOn(Class<? extends Throwable>... types) {
        return new RetryPolicy(kind, first, second, multiplier, maxAttempts, maxDelay, jitter, union(retryOn, types), abortOn);
    }

    /** Never retries these exceptions (and their subclasses): the message goes to the dead-letter queue at once. */
    @SafeVarargs
    public final RetryPolicy abortOn(Class<? extends Throwable>... types) {
        return new RetryPolicy(kind, first, second, multiplier, maxAttempts, maxDelay, jitter, retryOn, union(abortOn, types));
    }

    /** The longest delay between calls (and the bound of a {@link RetryLaterException}'s delay), or {@code null} for none. */
    public Duration maxDelay() {
        return maxDelay;
    }

    /** Calls in all, the first included. */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** The delays as a resilience4j interval function: {@code apply(n)} is the wait after the n-th failed call, in millis. */
    public IntervalFunction intervalFunction() {
        return intervals;
    }

    /** The wait after the {@code attempt}-th failed call (attempt >= 1). */
    public Duration delayAfter(int attempt) {
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be >= 1, was " + attempt);
        }
        return Duration.ofMillis(intervals.apply(attempt));
    }

    /** Whether {@code error} may be tried again under this policy (ignoring how many attempts are left). */
    public boolean isRetryable(Throwable error) {
        if (error instanceof DecodeException) {
            return false;
        }
        for (Class<? extends Throwable> t : abortOn) {
            if (t.isInstance(error)) {
                return false;
            }
        }
        if (retryOn.isEmpty()) {
            return true;
        }
        for (Class<? extends Throwable> t : retryOn) {
            if (t.isInstance(error)) {
                return true;
            }
        }
        return false;
    }

    private IntervalFunction buildIntervals() {
        IntervalFunction base = switch (kind) {
            case FIXED, NONE -> IntervalFunction.of(first);
            case LINEAR -> IntervalFunction.of(first, previous -> previous + second.toMillis());
            case EXPONENTIAL -> IntervalFunction.ofExponentialBackoff(first, multiplier);
            case RANDOM -> randomBetween(first.toMillis(), second.toMillis());
        };
        double spread = jitter;
        long cap = maxDelay == null ? Long.MAX_VALUE : maxDelay.toMillis();
        return attempt -> {
            long millis = base.apply(attempt);
            if (spread > 0) {
                double factor = 1 + spread * (2 * ThreadLocalRandom.current().nextDouble() - 1);
                millis = Math.round(millis * factor);
            }
            return Math.max(0, Math.min(cap, millis));
        };
    }

    private static IntervalFunction randomBetween(long min, long max) {
        // IntervalFunction.ofRandomized spreads around a midpoint; min..max is that midpoint +/- the half range.
        double mid = (min + max) / 2.0;
        double factor = mid == 0 ? 0 : (max - min) / (2 * mid);
        if (factor >= 1) {
            factor = 0.999;
        }
        return factor == 0 ? IntervalFunction.of(Math.round(mid)) : IntervalFunction.ofRandomized(Math.round(mid), factor);
    }

    private static Duration positive(Duration d, String name) {
        if (Args.fitsMillis(d, name).toMillis() < 1) {
            throw new IllegalArgumentException(name + " must be >= 1ms, was " + d);
        }
        return d;
    }

    @SafeVarargs
    private static Set<Class<? extends Throwable>> union(Set<Class<? extends Throwable>> existing, Class<? extends Throwable>... more) {
        Objects.requireNonNull(more, "exception types must not be null");
        Set<Class<? extends Throwable>> all = new LinkedHashSet<>(existing);
        for (Class<? extends Throwable> t : more) {
            all.add(Objects.requireNonNull(t, "exception type must not be null"));
        }
        return all;
    }

    @Override
    public String toString() {
        return "RetryPolicy[" + kind.name().toLowerCase() + ", maxAttempts=" + maxAttempts
                + (maxDelay != null ? ", maxDelay=" + maxDelay : "") + (jitter > 0 ? ", jitter=" + jitter : "")
                + (retryOn.isEmpty() ? "" : ", retryOn=" + names(retryOn)) + (abortOn.isEmpty() ? "" : ", abortOn=" + names(abortOn)) + "]";
    }

    private static List<String> names(Set<Class<? extends Throwable>> types) {
        return types.stream().map(Class::getSimpleName).toList();
    }
}
