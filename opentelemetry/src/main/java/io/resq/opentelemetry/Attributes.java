package io.resq.opentelemetry;

import io.opentelemetry.api.common.AttributeKey;

/** The attributes and event names of resq's spans: OpenTelemetry's messaging conventions, and a few of resq's own. */
public final class Attributes {

    /** {@code messaging.system}: the broker, {@code resq} unless configured. */
    public static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
    /** {@code messaging.destination.name}: the queue. */
    public static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("messaging.destination.name");
    /** {@code messaging.operation.type}: {@code send} or {@code process}. */
    public static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
    /** {@code messaging.operation.name}: {@code send} or {@code process}. */
    public static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
    /** {@code messaging.message.id}: the message id, the same on every delivery and in the dead-letter queue. */
    public static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
    /** {@code messaging.consumer.group.name}: the processor's group, when it has one. */
    public static final AttributeKey<String> CONSUMER_GROUP = AttributeKey.stringKey("messaging.consumer.group.name");
    /** {@code messaging.resq.attempt}: the delivery attempt, 1 on the first delivery. */
    public static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("messaging.resq.attempt");
    /** {@code messaging.resq.outcome}: how the delivery ended: succeeded, redelivered, dead_lettered or released. */
    public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("messaging.resq.outcome");
    /** {@code error.type}: the class of the last failure, on failed sends and failed deliveries. */
    public static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

    /** The event added to a process span before each in-process retry. */
    public static final String RETRY_EVENT = "resq.retry";
    /** On a retry event: {@code messaging.resq.call}, the handler call that failed (1 for the first). */
    public static final AttributeKey<Long> CALL = AttributeKey.longKey("messaging.resq.call");
    /** On a retry event: {@code messaging.resq.retry.delay_ms}, the wait before the next call, in milliseconds. */
    public static final AttributeKey<Long> RETRY_DELAY = AttributeKey.longKey("messaging.resq.retry.delay_ms");

    private Attributes() {
    }
}
