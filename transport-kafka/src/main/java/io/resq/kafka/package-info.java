/**
 * The Kafka transport: {@link io.resq.kafka.KafkaTransport#create(java.util.Map)} from the Kafka
 * client configuration an application already has. Topics are queues, consumer groups are groups,
 * delays go through {@code <topic>_retry}; see docs/transports/kafka.md.
 */
package io.resq.kafka;
