package io.resq.sqs;

import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;

/**
 * Receive-request attempt ids for one FIFO receiver.
 *
 * <p>Why: when a {@code ReceiveMessage} answer is lost (a timeout, a dropped connection, a 5xx),
 * SQS may already have handed the messages out. On a FIFO queue they then stay in flight until
 * their visibility timeout, and so does every later message of their groups. A FIFO receive that
 * carries a {@code ReceiveRequestAttemptId} can be repeated with the same id within five minutes
 * to get the same messages back at once. The SDK's own retries repeat the request object, id
 * included; this class makes the receiver's next fetch after a failed one repeat the lost request
 * unchanged, unless SQS answered that it cannot be repeated (a throttled or refused request, any
 * 4xx) or four minutes have passed.
 *
 * <p>Owned by the receiver's fetching thread; not thread-safe.
 */
final class ReceiveAttempts {

    /** SQS keeps an attempt id for five minutes; a minute of margin for clocks and queues. */
    private static final long REPEATABLE_NANOS = TimeUnit.MINUTES.toNanos(4);

    private ReceiveMessageRequest lost;
    private long lostAt;

    /**
     * The request to send: the lost one again if it may be repeated, else {@code build} applied
     * to a request builder that already carries a new attempt id.
     */
    ReceiveMessageRequest next(UnaryOperator<ReceiveMessageRequest.Builder> build) {
        if (lost != null && System.nanoTime() - lostAt < REPEATABLE_NANOS) {
            return lost;
        }
        lost = null;
        return build.apply(ReceiveMessageRequest.builder().receiveRequestAttemptId(UUID.randomUUID().toString())).build();
    }

    /** The request was answered: its id is spent. */
    void answered() {
        lost = null;
    }

    /** The request failed with {@code e}: keep it for repeating if its answer may have been lost. */
    void failed(ReceiveMessageRequest request, RuntimeException e) {
        if (!answerMayBeLost(e)) {
            lost = null;
            return;
        }
        if (lost != request) {
            lost = request;
            lostAt = System.nanoTime();
        }
    }

    /** The attempt id a repeated request would carry, or null; for tests and logs. */
    String pendingAttemptId() {
        return lost == null ? null : lost.receiveRequestAttemptId();
    }

    /** No answer at all, or a server error: SQS may have handed messages out. A 4xx answer (throttled, refused) handed out nothing. */
    static boolean answerMayBeLost(RuntimeException e) {
        Throwable t = e instanceof SqsTransportException && e.getCause() instanceof RuntimeException c ? c : e;
        if (t instanceof SdkServiceException s) {
            return s.statusCode() >= 500 && !s.isThrottlingException();
        }
        return t instanceof SdkClientException;
    }
}
