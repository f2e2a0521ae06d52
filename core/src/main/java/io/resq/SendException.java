package io.resq;

import java.util.List;

/**
 * A synchronous send that the broker did not confirm, after the send retries. The cause is the
 * last broker error; {@link #failures()} holds one entry per attempt.
 */
public class SendException extends ResqException {

    private final transient List<Failure> failures;

    /** An exception for the given queue, the attempts' failures and the last cause. */
    public SendException(String message, List<Failure> failures, Throwable cause) {
        super(message, cause);
        this.failures = List.copyOf(failures);
    }

    /** One entry per attempt, oldest first. */
    public List<Failure> failures() {
        return failures;
    }
}
