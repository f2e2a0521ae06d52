package io.resq.sqs;

/**
 * One resolved SQS queue.
 *
 * @param name           the resq queue name the application used
 * @param physicalName   the SQS queue name ({@code .fifo} suffix for FIFO queues)
 * @param url            the queue URL SQS returned
 * @param fifo           whether it is a FIFO queue
 * @param maxMessageSize the queue's {@code MaximumMessageSize} in bytes (body plus attributes)
 */
record SqsQueue(String name, String physicalName, String url, boolean fifo, int maxMessageSize) {
}
