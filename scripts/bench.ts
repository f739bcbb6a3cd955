/**
 * `npm run bench [-- --count N] [--seed S]`: measures ingest on this machine and prints the figures.
 *
 * 1. pipeline: decode -> validate -> enrich of N generated messages in this process, no I/O
 *    (the CPU ceiling of one ingest process);
 * 2. produce: the same N messages to a fresh topic (3 partitions), acks from all replicas;
 * 3. ingest: the real service (in this process) from a new consumer group until every message is
 *    committed, i.e. durably written to Cassandra or the dead-letter topic.
 * Prints events/s of each, the ratio ingest / pipeline, and the process' peak RSS. Brings the local
 * stack up when it is not up (and stops it again); uses its own topic and keyspace and drops them.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClickGenerator } from '@clickstream/clickgen';
import type { ClickMessage } from '@clickstream/events';
import { createEnricher, createGeoLookup, createUserAgentParser } from '@clickstream/enrichment';
import { consumerGroupLag, createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import { startIngest } from '../services/ingest/src/main.ts';
import { createBatchProcessor } from '../services/ingest/src/process-batch.ts';
import { stackEnv, testCassandra, testKafka, testLogger, uniqueSuffix } from '../test/support/stack-clients.ts';
import { stackDown, stackIsUp, stackUp } from './stack/stack.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: '7' } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run bench -- [--count N] [--seed S]   (N a positive integer, S an integer)');
  process.exit(2);
}

const HOUR_MS = 3_600_000;
const now = Date.now();
const messages = [
  ...createClickGenerator({
    seed,
    count,
    startMs: now - 24 * HOUR_MS,
    spanMs: 24 * HOUR_MS,
    invalidRatio: 0.01,
    duplicateRatio: 0.01,
    nowMs: now,
  }),
];
const perSecond = (n: number, ms: number): number => Math.round((n * 1000) / ms);
const figures: Record<string, string> = { messages: String(messages.length) };

// 1. The pure pipeline, in batches like the consumer hands over.
const processBatch = createBatchProcessor({
  enrich: createEnricher({ geo: createGeoLookup(), userAgents: createUserAgentParser({ cacheSize: 10_000 }), ipPolicy: 'truncated' }),
  now: () => new Date(),
});
const asConsumed: ClickMessage[] = messages.map((m, i) => ({
  topic: 'bench',
  partition: 0,
  offset: String(i),
  key: m.key === null ? null : Buffer.from(m.key),
  value: Buffer.from(m.value),
  timestampMs: now,
}));
let pipelineStart = performance.now();
let rows = 0;
for (let i = 0; i < asConsumed.length; i += 500) rows += processBatch(asConsumed.slice(i, i + 500)).rows.length;
let pipelineMs = performance.now() - pipelineStart;
// Again, warm (JIT, UA cache): the steady state of a long-running service.
pipelineStart = performance.now();
for (let i = 0; i < asConsumed.length; i += 500) processBatch(asConsumed.slice(i, i + 500));
pipelineMs = Math.min(pipelineMs, performance.now() - pipelineStart);
figures['pipeline events/s (decode+validate+enrich, no I/O)'] = String(perSecond(messages.length, pipelineMs));
figures['valid rows'] = String(rows);

let startedStack = false;
if (!(await stackIsUp())) {
  console.log('local stack is not up: starting it (stopped again at the end)');
  await stackUp({ log: (line) => console.log(`[stack] ${line}`) });
  startedStack = true;
}
const suffix = uniqueSuffix();
const topic = `bench-${suffix}`;
const keyspace = `bench_${suffix}`;
const groupId = `bench-${suffix}`;
const kafka = testKafka();
try {
  // 2. Produce.
  await ensureTopics(kafka, [
    { topic, partitions: 3 },
    { topic: `${topic}-dlq`, partitions: 3 },
  ]);
  const producer = await createMessageProducer(kafka);
  const produceStart = performance.now();
  for (let i = 0; i < messages.length; i += 2_000) await producer.send(topic, messages.slice(i, i + 2_000));
  const produceMs = performance.now() - produceStart;
  await producer.disconnect();
  figures['produce events/s (acks=all)'] = String(perSecond(messages.length, produceMs));

  // 3. Ingest until the group's lag is 0: every message durably handled and committed.
  const ingestStart = performance.now();
  const service = await startIngest(
    {
      ...stackEnv,
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}-dlq`,
      KAFKA_GROUP_ID: groupId,
      CASSANDRA_KEYSPACE: keyspace,
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    testLogger,
  );
  let lastReportMs = performance.now();
  for (;;) {
    const lag = (await consumerGroupLag(kafka, groupId, topic)).reduce((sum, p) => sum + p.lag, 0);
    if (lag === 0) break;
    if (performance.now() - lastReportMs > 5_000) {
      const done = messages.length - lag;
      const elapsedMs = performance.now() - ingestStart;
      console.log(`ingest: ${done}/${messages.length} committed, ${perSecond(done, elapsedMs)} events/s so far`);
      lastReportMs = performance.now();
    }
    if (performance.now() - ingestStart > 15 * 60_000) throw new Error('ingest did not finish within 15 minutes');
    await sleep(200);
  }
  const ingestMs = performance.now() - ingestStart;
  await service.stop();
  figures['ingest events/s (Kafka -> Cassandra + DLQ, committed; includes start-up)'] = String(perSecond(messages.length, ingestMs));
  figures['ingest seconds'] = (ingestMs / 1000).toFixed(1);
  figures['ingest / pipeline ratio'] = (pipelineMs / ingestMs).toFixed(3);
  figures['peak RSS of this process (MiB)'] = String(Math.round(process.resourceUsage().maxRSS / 1024));
} finally {
  await deleteTopics(kafka, [topic, `${topic}-dlq`]).catch(() => undefined);
  const cassandra = await testCassandra(keyspace);
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await cassandra.shutdown();
  if (startedStack) await stackDown({ log: (line) => console.log(`[stack] ${line}`) });
}

console.log('\nbenchmark figures (this machine, one run):');
for (const [name, value] of Object.entries(figures)) console.log(`  ${name.padEnd(72)} ${value}`);
