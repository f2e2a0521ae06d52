package io.resq.sqs;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

/**
 * Faults the real SQS endpoint of the tests cannot produce on demand (a lost answer, a throttled
 * queue, a denied permission), added with the SDK's own interceptor hook to a real client that
 * talks to the real endpoint. Every request still reaches the broker unless {@link #refuse} says
 * otherwise. Records the requests it saw. Rules are set by the test thread and read by whatever
 * thread makes the request, hence volatile.
 */
final class FaultInjector implements ExecutionInterceptor {

    /** Requests seen, in order. */
    final List<SdkRequest> requests = new CopyOnWriteArrayList<>();
    /** Requests that are answered by the broker but wait this long first (a throttled queue with SDK back-off). */
    volatile Predicate<SdkRequest> slow = r -> false;
    volatile Duration slowBy = Duration.ZERO;
    /** Requests refused before they are sent, with the exception the function returns (null: sent). */
    volatile Function<SdkRequest, RuntimeException> refuse = r -> null;
    /** Requests whose answer is lost after the broker acted on them (once per match, then cleared). */
    volatile Predicate<SdkRequest> loseAnswer = r -> false;

    /** A client for {@code endpoint} with this injector and no SDK retries (the transport's own behaviour shows). */
    SqsClient client(String endpoint) {
        return SqsClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClient(UrlConnectionHttpClient.create())
                .overrideConfiguration(o -> o.addExecutionInterceptor(this).retryStrategy(AwsRetryStrategy.doNotRetry()))
                .build();
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        requests.add(context.request());
        RuntimeException refusal = refuse.apply(context.request());
        if (refusal != null) {
            throw refusal;
        }
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        if (slow.test(context.request())) {
            try {
                Thread.sleep(slowBy.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void afterUnmarshalling(Context.AfterUnmarshalling context, ExecutionAttributes attributes) {
        Predicate<SdkRequest> lose = loseAnswer;
        if (lose.test(context.request())) {
            loseAnswer = r -> false;
            throw SdkClientException.create("Unable to execute HTTP request: Read timed out (answer dropped by the test)");
        }
    }
}
