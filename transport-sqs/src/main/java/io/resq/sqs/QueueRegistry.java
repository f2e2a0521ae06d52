package io.resq.sqs;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;
import software.amazon.awssdk.services.sqs.model.SqsException;

/**
 * Resolves resq queue names to SQS queues once and caches them: URL, FIFO flag and
 * {@code MaximumMessageSize}. Creates missing queues when the transport is configured to.
 *
 * <p>Name mapping: SQS FIFO queue names must end in {@code .fifo}, but resq derives names by
 * appending ({@code orders.fifo} becomes {@code orders.fifo_deadletter}). So a name that contains
 * {@code .fifo} anywhere, or any name when the transport runs in FIFO mode, maps to the name
 * without {@code .fifo} plus a trailing {@code .fifo}: {@code orders.fifo_deadletter} is the SQS
 * queue {@code orders_deadletter.fifo}.
 *
 * <p>Thread-safe: the cache is a concurrent map; two threads resolving the same new name may both
 * ask SQS, which is harmless (GetQueueUrl and CreateQueue with equal attributes are idempotent).
 */
final class QueueRegistry {

    private static final String FIFO_SUFFIX = ".fifo";
    /** SQS's longest queue name; a FIFO queue's {@code .fifo} suffix counts. */
    static final int MAX_NAME = 80;
    private static final Pattern VALID_BASE = Pattern.compile("[A-Za-z0-9_-]+");

    private final SqsClient client;
    private final SqsEndpoint endpoint;
    private final boolean createQueues;
    private final boolean fifoMode;
    private final int createdMaxMessageSize;
    private final Map<String, SqsQueue> queues = new ConcurrentHashMap<>();

    QueueRegistry(SqsClient client, SqsEndpoint endpoint, boolean createQueues, boolean fifoMode, int createdMaxMessageSize) {
        this.client = client;
        this.endpoint = endpoint;
        this.createQueues = createQueues;
        this.fifoMode = fifoMode;
        this.createdMaxMessageSize = createdMaxMessageSize;
    }

    /** The SQS name of the resq queue {@code name}; throws IllegalArgumentException if SQS would refuse it. */
    String physicalName(String name) {
        Objects.requireNonNull(name, "queue must not be null");
        boolean fifo = fifoMode || name.contains(FIFO_SUFFIX);
        String base = fifo ? name.replace(FIFO_SUFFIX, "") : name;
        String physical = fifo ? base + FIFO_SUFFIX : base;
        if (base.isEmpty() || !VALID_BASE.matcher(base).matches() || physical.length() > MAX_NAME) {
            throw new IllegalArgumentException("queue name '" + name + "' cannot be an SQS queue name"
                    + (fifo ? " (as the FIFO queue '" + physical + "', " + physical.length() + " characters)" : " (" + name.length() + " characters)")
                    + ": SQS allows 1 to " + MAX_NAME + " letters, digits, '-' and '_', a FIFO queue's '.fifo' suffix included; "
                    + "choose a shorter name with only these characters");
        }
        return physical;
    }

    /**
     * Checks the name of the dead-letter queue resq will write for {@code name}, so that a name
     * SQS would refuse fails when the processor starts and not when the first message is
     * dead-lettered.
     *
     * @throws IllegalArgumentException naming both queues and what to do
     */
    void checkDeadLetterName(String name, String deadLetters) {
        try {
            physicalName(deadLetters);
        } catch (IllegalArgumentException e) {
            // The '.fifo' the transport adds in FIFO mode takes room too; one the name already has is counted in it.
            int added = deadLetters.length() - name.length();
            int room = MAX_NAME - added - (fifoMode && !name.contains(FIFO_SUFFIX) ? FIFO_SUFFIX.length() : 0);
            throw new IllegalArgumentException("queue '" + name + "' has a dead-letter queue '" + deadLetters + "' that SQS would refuse ("
                    + e.getMessage() + "); use a queue name of at most " + Math.max(1, room) + " characters, or a shorter "
                    + "dead-letter suffix (Queues.builder(..).deadLetterSuffix(..))", e);
        }
    }

    /**
     * The queue {@code name}, asking SQS the first time.
     *
     * @throws SqsTransportException naming the endpoint and queue if SQS cannot be reached, the
     *     queue does not exist and creation is off, or SQS refuses
     */
    SqsQueue resolve(String name) {
        SqsQueue cached = queues.get(name);
        if (cached != null) {
            return cached;
        }
        String physical = physicalName(name);
        boolean fifo = physical.endsWith(FIFO_SUFFIX);
        String what = "queue '" + physical + "'";
        try {
            String found;
            try {
                found = client.getQueueUrl(r -> r.queueName(physical)).queueUrl();
            } catch (QueueDoesNotExistException e) {
                if (!createQueues) {
                    throw new SqsTransportException(endpoint.describe(what, e) + "; the queue does not exist and queue creation "
                            + "is off (SqsTransport.builder(client).createQueues(true) creates missing queues)", e);
                }
                found = create(physical, fifo);
            }
            String url = found;
            String size = client.getQueueAttributes(r -> r.queueUrl(url).attributeNames(QueueAttributeName.MAXIMUM_MESSAGE_SIZE))
                    .attributes().get(QueueAttributeName.MAXIMUM_MESSAGE_SIZE);
            // Emulators (ElasticMQ) do not report it: trust what the transport was configured with.
            int maxSize = size == null ? createdMaxMessageSize : Integer.parseInt(size);
            SqsQueue q = new SqsQueue(name, physical, url, fifo, maxSize);
            SqsQueue raced = queues.putIfAbsent(name, q);
            return raced == null ? q : raced;
        } catch (SqsTransportException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SqsTransportException(endpoint.describe(what, e), e);
        }
    }

    private String create(String physical, boolean fifo) {
        Map<QueueAttributeName, String> attributes = new HashMap<>();
        attributes.put(QueueAttributeName.MAXIMUM_MESSAGE_SIZE, Integer.toString(createdMaxMessageSize));
        if (fifo) {
            attributes.put(QueueAttributeName.FIFO_QUEUE, "true");
            attributes.put(QueueAttributeName.CONTENT_BASED_DEDUPLICATION, "false");
        }
        try {
            return client.createQueue(r -> r.queueName(physical).attributes(attributes)).queueUrl();
        } catch (SqsException e) {
            // Another process created it first with other attributes: use it as it is.
            if (e.awsErrorDetails() != null && "QueueAlreadyExists".equals(e.awsErrorDetails().errorCode())) {
                return client.getQueueUrl(r -> r.queueName(physical)).queueUrl();
            }
            throw e;
        }
    }

    /** The queues resolved so far. */
    int size() {
        return queues.size();
    }

    /** The queues resolved so far, each once. */
    List<SqsQueue> inUse() {
        return List.copyOf(new LinkedHashSet<>(queues.values()));
    }
}
