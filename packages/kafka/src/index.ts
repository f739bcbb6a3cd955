export { createKafkaClient, pingKafka } from './kafka-client.ts';
export type { KafkaClient, KafkaConnection } from './kafka-client.ts';
export { consumerGroupLag, deleteTopics, ensureTopics, topicMessageCount } from './topics.ts';
export type { TopicSpec } from './topics.ts';
export { createMessageProducer } from './message-producer.ts';
export type { MessageProducer, OutgoingMessage } from './message-producer.ts';
export { startBatchConsumer } from './batch-consumer.ts';
export type { BatchConsumer, ConsumedBatch, ConsumedMessage } from './batch-consumer.ts';
