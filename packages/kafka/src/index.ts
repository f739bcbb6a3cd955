export { createKafkaClient, pingKafka } from './kafka-client.ts';
export type { KafkaClient, KafkaConnection } from './kafka-client.ts';
export { kafkaConnectionOf } from './connection-settings.ts';
export {
  addPartitions,
  consumerGroupLag,
  createLagReader,
  deleteTopics,
  differingTopicSettings,
  durableTopicSpec,
  ensureTopics,
  topicMessageCount,
} from './topics.ts';
export type { LagReader, TopicSettingDifference, TopicSpec } from './topics.ts';
export { createMessageProducer } from './message-producer.ts';
export type { MessageProducer, OutgoingMessage } from './message-producer.ts';
export { startBatchConsumer } from './batch-consumer.ts';
export type { BatchConsumer, BatchConsumerOptions, ConsumedBatch, ConsumedMessage } from './batch-consumer.ts';
export { isMembershipError, isPermanentKafkaError } from './kafka-errors.ts';
export { KafkaTopicMissingError, brokerErrorType } from './kafka-errors.ts';
