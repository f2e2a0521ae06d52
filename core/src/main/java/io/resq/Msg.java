package io.resq;

import io.resq.internal.MessageIds;
import io.resq.internal.MsgAccess;
import io.resq.internal.Received;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An immutable message: a typed payload plus the envelope resq keeps around it — a stable id, the
 * queue, an optional category and ordering key, the dispatch date, free-form attributes and the
 * error history of earlier failed deliveries.
 *
 * <p>To send with a key, category or attributes, build one: {@code Msg.builder(order).key("customer-7").build()}.
 * On the receiving side, put {@code msg} into {@link Dequeue#acks()} to ack it, or
 * {@code msg.failed(e)} to fail it.
 *
 * @param <T> the payload type
 */
public final class Msg<T> {

    /** At most this many failures are kept: the first {@value #HISTORY_HEAD} and the last {@value #HISTORY_TAIL}. */
    public static final int MAX_HISTORY = 10;
    /** How many of the oldest failures a bounded history keeps. */
    public static final int HISTORY_HEAD = 2;
    /** How many of the newest failures a bounded history keeps. */
    public static final int HISTORY_TAIL = 8;
    /** Header names that start with this (in any case) are resq's own: never in {@link #headers()}. */
    public static final String RESERVED_HEADER_PREFIX = "resq-";

    static {
        MsgAccess.install(new MsgAccess.Accessor() {
            @Override
            public void origin(Builder<?> builder, Received received) {
                builder.origin = received;
            }

            @Override
            public Received origin(Msg<?> msg) {
                return msg.origin;
            }

            @Override
            public <P> Msg<P> received(P payload, String id, String queue, String category, String key, Instant dispatchedAt,
                                       Map<String, String> attributes, Map<String, String> headers, List<Failure> errors,
                                       int attempt, Received origin) {
                // The builder's rule for attribute names; the decoder never yields a null name or value.
                for (String name : attributes.keySet()) {
                    Builder.requireText(name, "attribute name");
                }
                return new Msg<>(payload, id, queue, category, key, dispatchedAt, attributes, headers, errors, attempt, origin);
            }
        });
    }

    private final String id;
    private final String queue;
    private final String category;
    private final String key;
    private final Instant dispatchedAt;
    private final Map<String, String> attributes;
    private final Map<String, String> headers;
    private final Duration deliverAfter;
    private final Instant deliverAt;
    private final T payload;
    private final List<Failure> errors;
    private final int attempt;
    // Set only on received messages and their copies: the message as it came off the wire, so that
    // redelivery, dead-letter and redrive copies keep what the payload type cannot hold.
    private final Received origin;

    // Set only on received messages, so that an ack or failure finds its way back to the broker.
    final Object receipt;
    // Set only by failed(): the error and failure this copy reports on the ack channel.
    final Throwable pendingError;
    final Failure pendingFailure;

    private Msg(Builder<T> b, Object receipt, Throwable pendingError, Failure pendingFailure) {
        this.id = b.id != null ? b.id : newId();
        this.queue = b.queue;
        this.category = b.category;
        this.key = b.key;
        this.dispatchedAt = b.dispatchedAt != null ? b.dispatchedAt : Instant.now();
        this.attributes = b.attributes.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(b.attributes));
        this.headers = b.headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(b.headers));
        this.deliverAfter = b.deliverAfter;
        this.deliverAt = b.deliverAt;
        this.payload = b.payload;
        this.errors = b.errors.isEmpty() ? List.of() : List.copyOf(b.errors);
        this.attempt = b.attempt;
        this.origin = b.origin;
        this.receipt = receipt;
        this.pendingError = pendingError;
        this.pendingFailure = pendingFailure;
    }

    /**
     * A received message from parts its decoder made for it alone: the maps are wrapped, not
     * copied, and the decoder has checked what {@link Builder} would (one is built per received
     * message, so the builder's copies were a measurable share of the cost of receiving).
     */
    private Msg(T payload, String id, String queue, String category, String key, Instant dispatchedAt,
                Map<String, String> attributes, Map<String, String> headers, List<Failure> errors, int attempt, Received origin) {
        this.id = id != null ? id : newId();
        this.queue = queue;
        this.category = category;
        this.key = key;
        this.dispatchedAt = dispatchedAt != null ? dispatchedAt : Instant.now();
        this.attributes = attributes.isEmpty() ? Map.of() : Collections.unmodifiableMap(attributes);
        this.headers = headers.isEmpty() ? Map.of() : Collections.unmodifiableMap(headers);
        this.deliverAfter = null;
        this.deliverAt = null;
        this.payload = Objects.requireNonNull(payload, "payload must not be null");
        this.errors = errors.isEmpty() ? List.of() : List.copyOf(bounded(errors));
        this.attempt = attempt;
        this.origin = origin;
        this.receipt = null;
        this.pendingError = null;
        this.pendingFailure = null;
    }

    /** A copy of {@code other} with other internal handles; the immutable fields are shared, not copied again. */
    private Msg(Msg<T> other, Object receipt, Throwable pendingError, Failure pendingFailure) {
        this.id = other.id;
        this.queue = other.queue;
        this.category = other.category;
        this.key = other.key;
        this.dispatchedAt = other.dispatchedAt;
        this.attributes = other.attributes;
        this.headers = other.headers;
        this.deliverAfter = other.deliverAfter;
        this.deliverAt = other.deliverAt;
        this.payload = other.payload;
        this.errors = other.errors;
        this.attempt = other.attempt;
        this.origin = other.origin;
        this.receipt = receipt;
        this.pendingError = pendingError;
        this.pendingFailure = pendingFailure;
    }

    /** A message carrying {@code payload} with a fresh id and no key, category or attributes. */
    public static <T> Msg<T> of(T payload) {
        return builder(payload).build();
    }

    /** A builder for a message carrying {@code payload}. */
    public static <T> Builder<T> builder(T payload) {
        return new Builder<>(payload);
    }

    /**
     * A builder initialised with every field of this message, for a modified copy. The copy is a
     * new message to resq: it is encoded from its fields, not from the body it was received in.
     */
    public Builder<T> toBuilder() {
        Builder<T> b = new Builder<>(payload);
        b.id = id;
        b.queue = queue;
        b.category = category;
        b.key = key;
        b.dispatchedAt = dispatchedAt;
        b.attributes.putAll(attributes);
        b.headers.putAll(headers);
        b.deliverAfter = deliverAfter;
        b.deliverAt = deliverAt;
        b.errors.addAll(errors);
        b.attempt = attempt;
        return b;
    }

    /** Like {@link #toBuilder()}, keeping the received form: for resq's own copies of a received message. */
    Builder<T> copy() {
        Builder<T> b = toBuilder();
        b.origin = origin;
        return b;
    }

    /** The id, stable across every redelivery and in the dead-letter queue: deduplicate on it. */
    public String id() {
        return id;
    }

    /** The queue the message was received from or sent to; {@code null} on a message not yet sent. */
    public String queue() {
        return queue;
    }

    /** The category (an event type name such as {@code OrderPlaced}), or {@code null}. */
    public String category() {
        return category;
    }

    /** The ordering key, or {@code null}: messages with the same key are processed one at a time, in order. */
    public String key() {
        return key;
    }

    /** When the message was first sent. */
    public Instant dispatchedAt() {
        return dispatchedAt;
    }

    /** Free-form string attributes (trace ids and the like); never {@code null}. */
    public Map<String, String> attributes() {
        return attributes;
    }

    /**
     * The broker headers the message carries besides resq's own ({@code resq-*}): those set with
     * {@link Builder#header(String, String)}, or by any other producer. They travel unchanged into
     * every redelivery, dead-letter and redrive copy, so a trace context ({@code traceparent}) or a
     * correlation id survives retries. Empty when there are none; never {@code null}.
     */
    public Map<String, String> headers() {
        return headers;
    }

    /**
     * The delay after its send before the message may be delivered, set with
     * {@link Builder#deliverAfter(Duration)}; {@code null} when none was asked for. Only a message
     * being sent has one: it is not carried on the wire, so received messages never do.
     */
    public Duration deliverAfter() {
        return deliverAfter;
    }

    /**
     * The instant before which the message must not be delivered, set with
     * {@link Builder#deliverAt(Instant)}; {@code null} when none was asked for. As {@link #deliverAfter()}, send side only.
     */
    public Instant deliverAt() {
        return deliverAt;
    }

    /** The payload. */
    public T payload() {
        return payload;
    }

    /** The failures of earlier deliveries, oldest first, bounded to {@value #MAX_HISTORY} entries. */
    public List<Failure> errors() {
        return errors;
    }

    /** Which delivery this is: 1 on the first, 2 on the first redelivery, and so on. */
    public int attempt() {
        return attempt;
    }

    /**
     * A copy of this message carrying a new failure for {@code error}, to put on the ack channel
     * ({@link Dequeue#acks()}) so that the redelivery and dead-letter policy applies.
     */
    public Msg<T> failed(Throwable error) {
        Objects.requireNonNull(error, "error must not be null");
        Failure failure = Failure.of(error, Instant.now());
        return new Msg<>(copy().clearErrors().errors(withFailure(errors, failure)), receipt, error, failure);
    }

    /** A copy carrying the broker receipt of a received message. */
    Msg<T> withReceipt(Object newReceipt) {
        return new Msg<>(this, newReceipt, pendingError, pendingFailure);
    }

    /** {@code history} with {@code failure} appended, bounded to the first two and the last eight entries. */
    static List<Failure> withFailure(List<Failure> history, Failure failure) {
        List<Failure> all = new ArrayList<>(history.size() + 1);
        all.addAll(history);
        all.add(failure);
        return bounded(all);
    }

    /** {@code history} bounded to the first {@value #HISTORY_HEAD} and the last {@value #HISTORY_TAIL} entries. */
    static List<Failure> bounded(List<Failure> history) {
        if (history.size() <= MAX_HISTORY) {
            return history;
        }
        List<Failure> kept = new ArrayList<>(MAX_HISTORY);
        kept.addAll(history.subList(0, HISTORY_HEAD));
        kept.addAll(history.subList(history.size() - HISTORY_TAIL, history.size()));
        return kept;
    }

    private static String newId() {
        return MessageIds.next();
    }

    @Override
    public String toString() {
        // The payload is left out on purpose: toString ends up in logs.
        return "Msg[id=" + id + ", queue=" + queue + ", category=" + category + ", key=" + key
                + ", attempt=" + attempt + ", errors=" + errors.size() + "]";
    }

    /**
     * Builds a {@link Msg}. Everything but the payload is optional: the id defaults to a fresh
     * time-ordered UUID (version 7), the dispatch date to now, the attempt to 1.
     *
     * @param <T> the payload type
     */
    public static final class Builder<T> {
        private final T payload;
        private String id;
        private String queue;
        private String category;
        private String key;
        private Instant dispatchedAt;
        private final Map<String, String> attributes = new LinkedHashMap<>();
        private final Map<String, String> headers = new LinkedHashMap<>();
        private Duration deliverAfter;
        private Instant deliverAt;
        private final List<Failure> errors = new ArrayList<>();
        private int attempt = 1;
        private Received origin;

        private Builder(T payload) {
            this.payload = Objects.requireNonNull(payload, "payload must not be null");
        }

        /** The message id; choose one to make sends idempotent. */
        public Builder<T> id(String id) {
            this.id = requireText(id, "id");
            return this;
        }

        /** The queue; set by resq when sending, so rarely needed. */
        public Builder<T> queue(String queue) {
            this.queue = queue;
            return this;
        }

        /** The category, such as {@code OrderPlaced}. */
        public Builder<T> category(String category) {
            this.category = category;
            return this;
        }

        /** The ordering key; messages with the same key are processed one at a time, in order. */
        public Builder<T> key(String key) {
            this.key = key;
            return this;
        }

        /** The dispatch date. */
        public Builder<T> dispatchedAt(Instant dispatchedAt) {
            this.dispatchedAt = Objects.requireNonNull(dispatchedAt, "dispatchedAt must not be null");
            return this;
        }

        /** Adds one attribute. */
        public Builder<T> attribute(String name, String value) {
            attributes.put(requireText(name, "attribute name"), Objects.requireNonNull(value, "attribute value must not be null"));
            return this;
        }

        /** Adds every attribute of {@code values}. */
        public Builder<T> attributes(Map<String, String> values) {
            Objects.requireNonNull(values, "attributes must not be null").forEach(this::attribute);
            return this;
        }

        /**
         * Adds one broker header, sent as the broker's native header (Kafka record header, AMQP
         * header, Redis Streams field, SQS message attribute) and kept in every copy of the message.
         * Names starting with {@code resq-} are resq's own and refused.
         */
        public Builder<T> header(String name, String value) {
            requireText(name, "header name");
            if (name.regionMatches(true, 0, RESERVED_HEADER_PREFIX, 0, RESERVED_HEADER_PREFIX.length())) {
                throw new IllegalArgumentException("header name '" + name + "' starts with '" + RESERVED_HEADER_PREFIX
                        + "', which resq keeps for its own headers; choose another name");
            }
            headers.put(name, Objects.requireNonNull(value, "header value must not be null"));
            return this;
        }

        /** Adds every header of {@code values}, as {@link #header(String, String)} does. */
        public Builder<T> headers(Map<String, String> values) {
            Objects.requireNonNull(values, "headers must not be null").forEach(this::header);
            return this;
        }

        /**
         * Delivers the message no sooner than {@code delay} after it is sent, with the broker's own
         * delay mechanism (the one redelivery uses). Replaces a {@link #deliverAt(Instant)}. A delay
         * longer than the transport supports ({@code Transport.maxDelay()}) is refused at send.
         */
        public Builder<T> deliverAfter(Duration delay) {
            Objects.requireNonNull(delay, "delay must not be null");
            if (delay.isNegative()) {
                throw new IllegalArgumentException("delay must be >= 0, was " + delay);
            }
            this.deliverAfter = delay;
            this.deliverAt = null;
            return this;
        }

        /**
         * Delivers the message no sooner than {@code instant} (by the {@code Queues}' clock); an
         * instant in the past means at once. Replaces a {@link #deliverAfter(Duration)}.
         */
        public Builder<T> deliverAt(Instant instant) {
            this.deliverAt = Objects.requireNonNull(instant, "instant must not be null");
            this.deliverAfter = null;
            return this;
        }

        /** Appends failures to the error history (bounded as {@link Msg#errors()} says); for tests of handlers that read it. */
        public Builder<T> errors(List<Failure> failures) {
            Objects.requireNonNull(failures, "errors must not be null").forEach(f -> errors.add(Objects.requireNonNull(f, "a failure must not be null")));
            return this;
        }

        Builder<T> clearErrors() {
            errors.clear();
            return this;
        }

        /** Which delivery this is (>= 1); for tests of handlers that read it. */
        public Builder<T> attempt(int attempt) {
            if (attempt < 1) {
                throw new IllegalArgumentException("attempt must be >= 1, was " + attempt);
            }
            this.attempt = attempt;
            return this;
        }

        /** The message. */
        public Msg<T> build() {
            if (errors.size() > MAX_HISTORY) {
                List<Failure> bounded = bounded(new ArrayList<>(errors));
                errors.clear();
                errors.addAll(bounded);
            }
            return new Msg<>(this, null, null, null);
        }

        private static String requireText(String value, String name) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.isBlank()) {
                throw new IllegalArgumentException(name + " must not be blank");
            }
            return value;
        }
    }
}
