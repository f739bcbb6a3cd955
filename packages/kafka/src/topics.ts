// kafkajs is CommonJS; its enums are reached through the default export.
import type { TopicCreationSettings } from '@clickstream/config';
import kafkajs from 'kafkajs';
import type { KafkaClient } from './kafka-client.ts';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Copies of each partition; unset = the brokers' `default.replication.factor`. */
  replicationFactor?: number | undefined;
  /** Topic-level settings (`min.insync.replicas`, `max.message.bytes`, ...), as strings like Kafka's own tools take them. */
  configs?: Readonly<Record<string, string>>;
}

/**
 * A topic of records that must not be lost (the clicks, the dead letters) as a service creates it
 * when missing: the configured partitions, replication factor and `min.insync.replicas` (unset:
 * the brokers' defaults), `cleanup.policy=delete` (a compacted topic drops older records of a key
 * and refuses records without one), and `configs`. Ingest and the producer both create the click
 * topic this way, so whichever comes first on a new cluster, it gets the same settings.
 */
export function durableTopicSpec(
  topic: string,
  settings: TopicCreationSettings,
  configs: Readonly<Record<string, string>> = {},
): TopicSpec {
  const minInsync = settings.KAFKA_TOPIC_MIN_INSYNC_REPLICAS;
  return {
    topic,
    partitions: settings.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: settings.KAFKA_TOPIC_REPLICATION_FACTOR,
    configs: { ...(minInsync === undefined ? {} : { 'min.insync.replicas': String(minInsync) }), 'cleanup.policy': 'delete', ...configs },
  };
}

/**
 * Creates the topics that do not exist yet (idempotent; existing topics are left as they are).
 * Resolves once the new topics' leaders are elected.
 */
export async function ensureTopics(client: KafkaClient, topics: readonly TopicSpec[]): Promise<string[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? -1,
          configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    return missing.map((t) => t.topic);
  } finally {
    await admin.disconnect();
  }
}

/** A topic-level setting whose value on the brokers is not the one its {@link TopicSpec} gives. */
export interface TopicSettingDifference {
  readonly topic: string;
  readonly name: string;
  readonly actual: string | undefined;
  readonly wanted: string;
}

/**
 * The settings of existing topics that differ from their specs' `configs`. {@link ensureTopics}
 * leaves an existing topic as it is, so a setting a newer version creates topics with (the
 * dead-letter topic's `message.timestamp.type`, for one) is missing on topics an older one made:
 * this lets the caller say so. Missing topics are skipped.
 */
export async function differingTopicSettings(client: KafkaClient, topics: readonly TopicSpec[]): Promise<TopicSettingDifference[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const checked = topics.filter((t) => existing.has(t.topic) && Object.keys(t.configs ?? {}).length > 0);
    if (checked.length === 0) return [];
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: checked.map((t) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: t.topic,
        configNames: Object.keys(t.configs ?? {}),
      })),
    });
    return checked.flatMap((t) => {
      const entries = resources.find((r) => r.resourceName === t.topic)?.configEntries ?? [];
      return Object.entries(t.configs ?? {}).flatMap(([name, wanted]) => {
        const actual = entries.find((e) => e.configName === name)?.configValue;
        return actual === wanted ? [] : [{ topic: t.topic, name, actual, wanted }];
      });
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes topics (tests and tooling only). Missing topics are ignored. */
export async function deleteTopics(client: KafkaClient, topics: readonly string[]): Promise<void> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.disconnect();
  }
}

/** Grows a topic to `partitions` partitions (tests and tooling only, like `kafka-topics.sh --alter --partitions`). */
export async function addPartitions(client: KafkaClient, topic: string, partitions: number): Promise<void> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
  } finally {
    await admin.disconnect();
  }
}

/** Committed offsets of a consumer group and the topic's end offsets: the lag per partition. */
export async function consumerGroupLag(client: KafkaClient, groupId: string, topic: string): Promise<{ partition: number; lag: number }[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.map((end) => {
      const done = committedByPartition.get(end.partition) ?? -1;
      const low = Number(end.low);
      const high = Number(end.high);
      return { partition: end.partition, lag: high - Math.max(done < 0 ? low : done, low) };
    });
  } finally {
    await admin.disconnect();
  }
}

/** Messages currently held by a topic: the sum over partitions of (end offset - start offset). */
export async function topicMessageCount(client: KafkaClient, topic: string): Promise<number> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface LagReader {
  /** End offset minus committed offset (start offset when nothing is committed) of each partition of the topic. */
  read(): Promise<{ partition: number; lag: number }[]>;
  close(): Promise<void>;
}

/** A {@link consumerGroupLag} that keeps one admin connection for repeated reads (metrics, liveness). */
export function createLagReader(client: KafkaClient, groupId: string, topic: string): LagReader {
  const admin = client.kafka.admin({ retry: { retries: 1 } });
  let connected: Promise<void> | undefined;
  return {
    async read() {
      connected ??= admin.connect().catch((err: unknown) => {
        connected = undefined;
        throw err;
      });
      await connected;
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.map((end) => {
        const done = committedByPartition.get(end.partition) ?? -1;
        const low = Number(end.low);
        return { partition: end.partition, lag: Math.max(0, Number(end.high) - Math.max(done < 0 ? low : done, low)) };
      });
    },
    close: () => admin.disconnect(),
  };
}
