import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import { consumerGroupLag, createKafkaClient, deleteTopics, kafkaConnectionOf, startBatchConsumer } from '@clickstream/kafka';
import type { ConsumedMessage, KafkaClient } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';
import { parseCliArgs } from './cli-args.ts';
import { loadProducerConfig } from './config.ts';
import { runProducer } from './run-producer.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const logger = createLogger({ service: 'producer-test', level: 'warn' });
const config = loadProducerConfig({ KAFKA_BROKERS: process.env.KAFKA_BROKERS });
const topics: string[] = [];
let client: KafkaClient;

/** A topic of this test file, deleted afterwards. */
function uniqueTopic(name: string): string {
  const topic = `producer-test-${name}-${randomUUID()}`;
  topics.push(topic);
  return topic;
}

/**
 * Messages in the topic: the sum of its end offsets (a fresh topic starts at 0). A group that
 * never committed has every message as lag, so consumerGroupLag reads exactly that.
 */
async function messagesInTopic(topic: string): Promise<{ partitions: number; messages: number }> {
  const lag = await consumerGroupLag(client, `producer-test-never-committed-${randomUUID()}`, topic);
  return { partitions: lag.length, messages: lag.reduce((sum, p) => sum + p.lag, 0) };
}

/**
 * Asserts that the topic holds every generated message at least once and nothing else: the
 * producer is at least once (kafkajs resends a whole request after a retriable error such as "not
 * the leader" on a fresh topic, so a few messages may arrive twice). Gives what was read.
 */
async function assertAtLeastOnce(topic: string, generated: readonly { key: string | null; value: string }[]): Promise<ConsumedMessage[]> {
  const { partitions, messages } = await messagesInTopic(topic);
  assert.equal(partitions, config.KAFKA_TOPIC_PARTITIONS);
  assert.ok(messages >= generated.length, `${messages} messages in the topic, ${generated.length} sent`);
  const received = await readAll(topic, messages);
  const asText = (key: string | null, value: string): string => `${key ?? '<null>'}\u0000${value}`;
  const wanted = new Map<string, number>();
  for (const m of generated) wanted.set(asText(m.key, m.value), (wanted.get(asText(m.key, m.value)) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const m of received) {
    const text = asText(m.key?.toString() ?? null, m.value?.toString() ?? '');
    got.set(text, (got.get(text) ?? 0) + 1);
  }
  assert.deepEqual([...got.keys()].sort(), [...wanted.keys()].sort(), 'the messages generated, byte for byte, and no other');
  for (const [text, count] of wanted)
    assert.ok((got.get(text) ?? 0) >= count, 'each generated message arrived at least as often as generated');
  return received;
}

/** Reads every message of the topic with a fresh consumer group (waits until `expected` arrived). */
async function readAll(topic: string, expected: number): Promise<ConsumedMessage[]> {
  const received: ConsumedMessage[] = [];
  const { promise: allReceived, resolve } = Promise.withResolvers<void>();
  const consumer = await startBatchConsumer(client, {
    groupId: `producer-test-${randomUUID()}`,
    topic,
    handleBatch: (batch) => {
      received.push(...batch.messages);
      if (received.length >= expected) resolve();
      return Promise.resolve();
    },
    onFatal: (err) => assert.fail(`consumer failed: ${String(err)}`),
  });
  const timeout = setTimeout(resolve, 60_000);
  await allReceived;
  clearTimeout(timeout);
  await consumer.stop();
  return received;
}

before(() => {
  client = createKafkaClient(kafkaConnectionOf(config), logger);
});
after(async () => {
  await deleteTopics(client, topics);
});

describe('runProducer against the local Kafka', () => {
  test('when 2,000 messages with 5% invalid are produced, then those 2,000 arrive (at least once, nothing else) and the summary adds up', async () => {
    const topic = uniqueTopic('count');
    const parsed = parseCliArgs(['--count', '2000', '--invalid-ratio', '0.05', '--topic', topic, '--seed', '11'], Date.now());
    assert.equal(parsed.kind, 'run');
    const summary = await runProducer({ run: parsed.options, config, logger, progress: 'none' });

    assert.equal(summary.topic, topic);
    assert.equal(summary.stoppedBy, null);
    assert.equal(summary.requested, 2_000);
    assert.equal(summary.sent, 2_000);
    assert.equal(summary.valid + summary.duplicate + summary.invalid, summary.sent);
    assert.equal(summary.invalid, 100);
    assert.equal(summary.duplicate, 0);
    assert.ok(summary.durationMs >= 0 && summary.ratePerSec > 0);

    // What arrived is byte for byte what the seeded generator makes for these options, one user per partition.
    const received = await assertAtLeastOnce(topic, [...createClickGenerator({ ...parsed.options, users: undefined })]);
    const partitionsByKey = new Map<string, Set<number>>();
    for (const m of received) {
      const key = m.key?.toString();
      if (key !== undefined) partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(m.partition));
    }
    assert.ok(
      [...partitionsByKey.values()].every((partitions) => partitions.size === 1),
      'one user key stays in one partition',
    );
  });

  test('when a rate is given, then the run takes about count / rate seconds', async () => {
    const topic = uniqueTopic('rate');
    const parsed = parseCliArgs(['--count', '1500', '--rate', '1000', '--topic', topic], Date.now());
    assert.equal(parsed.kind, 'run');
    const summary = await runProducer({ run: parsed.options, config, logger, progress: 'none' });
    assert.equal(summary.sent, 1_500);
    // The limiter cannot send 1,500 at 1,000/s in less; no upper bound (a loaded machine is slower, not wrong).
    assert.ok(summary.durationMs >= 1_400, `took ${summary.durationMs} ms, expected about 1,500`);
    await assertAtLeastOnce(topic, [...createClickGenerator({ ...parsed.options, users: undefined })]);
  });
});

test("when the producer creates the click topic, then it sets the replication settings ingest would, not the brokers' defaults", async () => {
  const topic = uniqueTopic('created');
  const parsed = parseCliArgs(['--count', '10', '--topic', topic], Date.now());
  assert.equal(parsed.kind, 'run');
  const creating = loadProducerConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_TOPIC_PARTITIONS: '2',
    KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '1',
  });
  assert.equal((await runProducer({ run: parsed.options, config: creating, logger, progress: 'none' })).sent, 10);
  assert.equal((await messagesInTopic(topic)).partitions, 2);
  // Set on the topic itself (source TOPIC_CONFIG), as ingest's own creation sets them.
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const TOPIC_RESOURCE = 2;
    const TOPIC_CONFIG_SOURCE = 1;
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['min.insync.replicas', 'cleanup.policy'] }],
    });
    const entries = resources[0]?.configEntries ?? [];
    assert.deepEqual(entries.map((e) => [e.configName, e.configValue, e.configSource]).sort(), [
      ['cleanup.policy', 'delete', TOPIC_CONFIG_SOURCE],
      ['min.insync.replicas', '1', TOPIC_CONFIG_SOURCE],
    ]);
  } finally {
    await admin.disconnect();
  }
});

describe('the produce command, stopped by a signal', () => {
  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    test(`when it gets ${signal} mid-run, then it finishes the batch in flight, logs the summary and exits ${exitCode}`, async () => {
      const topic = uniqueTopic(signal.toLowerCase());
      const child = spawn(process.execPath, [MAIN, '--count', '1000000', '--rate', '2000', '--topic', topic], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8');
      const { promise: started, resolve } = Promise.withResolvers<void>();
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('"msg":"producing clicks"')) resolve();
      });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      await started;
      await new Promise((r) => setTimeout(r, 1_500));
      child.kill(signal);
      const [code] = await exited;

      assert.equal(code, exitCode);
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const last = lines.at(-1) ?? {};
      assert.equal(last.msg, 'stopped early');
      assert.equal(last.stoppedBy, signal);
      const sent = Number(last.sent);
      assert.ok(sent > 0 && sent < 1_000_000, `sent ${sent}`);
      assert.equal(Number(last.valid) + Number(last.duplicate) + Number(last.invalid), sent);
      assert.equal((await messagesInTopic(topic)).messages, sent, 'every acknowledged batch is in the topic, and nothing else');
    });
  }
});
