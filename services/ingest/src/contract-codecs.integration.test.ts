/**
 * Contract v2, compression: clicks sent by Kafka's own Java producer (not kafkajs) in gzip,
 * snappy (xerial framing), lz4 (frame format) and zstd batches are all stored by ingest.
 * The producer runs from the local stack's jars (`.stack/kafka/lib`, else the Maven repository
 * the stack was fetched into).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CassandraClient } from '@clickstream/cassandra';
import { deleteTopics, ensureTopics, topicMessageCount } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import {
  countEventRows,
  ingestTestEnv,
  pollUntil,
  stackEnv,
  testCassandra,
  testKafka,
  testLogger,
  uniqueSuffix,
} from '../../../test/support/stack-clients.ts';
import { startIngest } from './main.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const PER_CODEC = 100;
const suffix = uniqueSuffix();
const keyspace = `contract_codecs_${suffix}`;
const topic = `contract-codecs-${suffix}`;
let kafka: KafkaClient;
let cassandra: CassandraClient;

/** The Kafka client jars with their compression libraries: the local stack's, else the Maven repository's. */
function kafkaClasspath(): string {
  const stackLib = join(process.env.CLICKSTREAM_STACK_DIR ?? join(repoRoot, '.stack'), 'kafka', 'lib');
  if (existsSync(join(stackLib, 'kafka-clients-4.1.1.jar'))) return `${stackLib}/*`;
  const m2 = join(homedir(), '.m2', 'repository');
  const jars = [
    'org/apache/kafka/kafka-clients',
    'org/xerial/snappy/snappy-java',
    'org/lz4/lz4-java',
    'com/github/luben/zstd-jni',
    'org/slf4j/slf4j-api',
  ].map((artifact) => {
    const dir = join(m2, artifact);
    const version = existsSync(dir) ? readdirSync(dir).sort().at(-1) : undefined;
    const jar =
      version === undefined ? undefined : readdirSync(join(dir, version)).find((f) => f.endsWith('.jar') && !f.includes('sources'));
    assert.ok(version !== undefined && jar !== undefined, `no ${artifact} jar in ${stackLib} or ${m2}: run npm run stack:up first`);
    return join(dir, version, jar);
  });
  return jars.join(':');
}

/** Runs the Java producer; resolves with its stdout once it exited 0. */
function produceWithJava(lines: readonly string[]): Promise<string> {
  const child = spawn('java', ['-cp', kafkaClasspath(), join(here, 'contract-compressed-producer.java'), stackEnv.KAFKA_BROKERS, topic], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(lines.join('\n'));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => (code === 0 ? done(stdout) : fail(new Error(`java producer exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

before(async () => {
  kafka = testKafka();
  cassandra = await testCassandra(keyspace);
  await ensureTopics(kafka, [
    { topic, partitions: 1 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
});
after(async () => {
  await deleteTopics(kafka, [topic, `${topic}-dlq`]);
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
});

/** `PER_CODEC` clicks in each codec's batches, as lines for the Java producer (`run` tells two runs' event ids apart). */
function codecLines(startMs: number, run: string): string[] {
  return CODECS.flatMap((codec) =>
    Array.from({ length: PER_CODEC }, (_, i) => {
      const user = `user-${i % 7}`;
      // Half with an event id, half identified by their content fingerprint.
      const click = {
        ...(i % 2 === 0 ? { event_id: `${run}${codec}-${i}` } : {}),
        user_id: `${run}${user}`,
        timestamp: startMs + i * 1_000,
        url: `https://shop.example.com/${codec}/${i % 10}`,
        country: 'US',
      };
      return `${codec}\t${user}\t${JSON.stringify(click)}`;
    }),
  );
}

test('when a Java producer sends clicks in gzip, snappy, lz4 and zstd batches, then ingest stores every click and keeps running', async () => {
  const lines = codecLines(Date.now() - 3_600_000, '');
  const output = await produceWithJava(lines);
  assert.match(output, /gzip=100, snappy=100, lz4=100, zstd=100/);
  assert.equal(await topicMessageCount(kafka, topic), CODECS.length * PER_CODEC);

  const service = await startIngest(ingestTestEnv({ topic, keyspace, groupId: `contract-codecs-${suffix}` }), testLogger);
  let exited: number | null = null;
  void service.stopped.then((code) => (exited = code));
  try {
    const rows = await pollUntil(
      () => countEventRows(cassandra, keyspace),
      (n) => n >= CODECS.length * PER_CODEC || exited !== null,
      90_000,
    );
    assert.equal(exited, null, 'ingest is still running');
    assert.equal(rows, CODECS.length * PER_CODEC);
    const urls = (await cassandra.driver.execute(`SELECT url FROM ${keyspace}.events`, [], { prepare: false, fetchSize: 1_000 })).rows;
    for (const codec of CODECS) {
      assert.equal(urls.filter((r) => (r.get('url') as string).includes(`/${codec}/`)).length, PER_CODEC, `${codec} clicks stored`);
    }
    assert.equal(await topicMessageCount(kafka, `${topic}-dlq`), 0, 'no dead letters');
    console.log(`contract codecs: ${CODECS.length} x ${PER_CODEC} clicks from the Java producer -> ${rows} rows`);
  } finally {
    await service.stop();
  }
});

test('when a fetch holds more messages than INGEST_BATCH_MAX_MESSAGES, then ingest processes it in parts of that many and stores every click once', async () => {
  // Compressed, a fetch's few bytes hold many messages: 400 more clicks in 4 compressed batches,
  // read in parts of 25 (each part a batch of its own, its duration observed once).
  const before = await topicMessageCount(kafka, topic);
  await produceWithJava(codecLines(Date.now() - 3_600_000, 'parts-'));
  assert.equal(await topicMessageCount(kafka, topic), before + CODECS.length * PER_CODEC);
  const service = await startIngest(
    ingestTestEnv({ topic, keyspace, groupId: `contract-codecs-parts-${suffix}`, extra: { INGEST_BATCH_MAX_MESSAGES: '25' } }),
    testLogger,
  );
  try {
    const expected = 2 * CODECS.length * PER_CODEC;
    const rows = await pollUntil(
      () => countEventRows(cassandra, keyspace),
      (n) => n >= expected,
      90_000,
    );
    assert.equal(
      rows,
      expected,
      'the first test stored the first 400; this group read the topic from the start, and stored the new 400 once',
    );
    const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    const batches = Number(/^ingest_batch_duration_seconds_count(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1]);
    const consumed = Number(/^ingest_events_consumed_total(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(consumed, expected, 'every message of the topic read once');
    assert.ok(batches >= expected / 25, `${batches} batches for ${consumed} messages: parts of at most 25`);
  } finally {
    await service.stop();
  }
});
