/**
 * `npm run bench [-- --count N] [--seed S] [--partitions P] [--span-hours H] [--cpu-prof DIR]`: ingest against the store's own limit,
 * on this machine, in one run.
 *
 * 1. produce: N generated messages (1% invalid, 1% duplicates) to a fresh topic of P partitions;
 * 2. raw limit: the valid rows written straight to Cassandra through the events repository in the
 *    fastest form it has (unlogged single-partition batches, grouped over the whole data set, with
 *    the best of a few concurrencies), before and after the ingest run; the higher figure counts;
 * 3. ingest: the real service as a child process (`services/ingest/src/main.ts`, default
 *    configuration plus the environment this script runs in), from a new consumer group. Its rate is
 *    taken from the first commit to the last (lag 0), as the service runs once started; its peak
 *    RSS is read from /proc.
 * Prints events/s of each, the ratio ingest / raw limit and the load average before and after, and
 * the CPU seconds (user + system, /proc) of this script (the raw limit's driver), the ingest child
 * and the Cassandra and Kafka processes listening on 9042 / 9092 during each raw write and during
 * the ingest window: the CPU each side spends per event on the shared cores.
 * Brings the local stack up when it is not up (and stops it again); uses its own topic and
 * keyspaces and drops them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEventsRepository, ensureSchema } from '@clickstream/cassandra';
import { createClickGenerator } from '@clickstream/clickgen';
import type { ClickMessage, EnrichedClick } from '@clickstream/events';
import { HOUR_MS } from '@clickstream/metrics';
import { createEnricher, createGeoLookup, createUserAgentParser } from '@clickstream/enrichment';
import { consumerGroupLag, createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import { loadIngestConfig } from '../services/ingest/src/config.ts';
import { INGEST_NODE_OPTIONS } from '../services/ingest/src/node-flags.ts';
import { createBatchProcessor } from '../services/ingest/src/process-batch.ts';
import { ingestTestEnv, testCassandra, testKafka, uniqueSuffix } from '../test/support/stack-clients.ts';
import { stackDown, stackIsUp, stackUp } from './stack/stack.ts';
import { stopOnceAndOnSignals } from './stop-signals.ts';
import { parseCommandLine } from '@clickstream/config';

const USAGE =
  'usage: npm run bench -- [--count N] [--seed S] [--partitions P] [--span-hours H] [--cpu-prof DIR]   (N, P positive integers, S an integer, 0 < H <= 24)';
const values = parseCommandLine(
  {
    count: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '7' },
    partitions: { type: 'string', default: '6' },
    'span-hours': { type: 'string', default: '1' },
    'cpu-prof': { type: 'string' },
  },
  USAGE,
);
const count = Number(values.count);
const seed = Number(values.seed);
const partitions = Number(values.partitions);
const SPAN_HOURS = Number(values['span-hours']);
if (
  !Number.isSafeInteger(count) ||
  count < 1 ||
  !Number.isSafeInteger(seed) ||
  !Number.isSafeInteger(partitions) ||
  partitions < 1 ||
  !(SPAN_HOURS > 0 && SPAN_HOURS <= 24)
) {
  console.error(USAGE);
  process.exit(2);
}

const childNodeOptions = process.env.BENCH_INGEST_NODE_OPTIONS ?? INGEST_NODE_OPTIONS;
const now = Date.now();
const perSecond = (n: number, ms: number): number => Math.round((n * 1000) / ms);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const figures: [string, string][] = [];
const figure = (name: string, value: string | number): void => void figures.push([name, String(value)]);

const loadBefore = load();
const messages = [
  ...createClickGenerator({
    seed,
    count,
    // Real-time traffic: one hour of event time, as production delivers it (a batch touches one or
    // two hours, so its rows group into full partition batches). The same clicks feed both sides.
    startMs: now - SPAN_HOURS * HOUR_MS,
    spanMs: SPAN_HOURS * HOUR_MS,
    invalidRatio: 0.01,
    duplicateRatio: 0.01,
    nowMs: now,
  }),
];
figure('messages', messages.length);
figure('topic partitions', partitions);
figure('hours of event time spanned by the clicks (both sides)', SPAN_HOURS);

// The valid rows, made by the service's own pure steps, for the raw-limit writes.
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
const rows: EnrichedClick[] = [];
const pipelineStart = performance.now();
for (let i = 0; i < asConsumed.length; i += 1_000) rows.push(...processBatch(asConsumed.slice(i, i + 1_000)).rows);
figure('pipeline events/s (decode+validate+enrich, one core, no I/O)', perSecond(messages.length, performance.now() - pipelineStart));
figure('valid rows', rows.length);

/** Rows/s of the whole data set written through the repository at `concurrency` statements in flight. */
async function rawWrite(keyspace: string, concurrency: number): Promise<{ rate: number; seconds: number; cpu: string }> {
  const cassandra = await testCassandra(keyspace);
  try {
    await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
    const defaults = loadIngestConfig({});
    const repo = createEventsRepository(cassandra, {
      concurrency,
      maxBatchBytes: defaults.INGEST_WRITE_BATCH_MAX_BYTES,
      maxBatchRows: defaults.INGEST_WRITE_BATCH_MAX_ROWS,
    });
    const cpuBefore = readCpu();
    const start = performance.now();
    for (let i = 0; i < rows.length; i += 50_000) {
      const outcome = await repo.writeEvents(rows.slice(i, i + 50_000));
      if (outcome.unwritten.length > 0 || outcome.rejected.length > 0) throw new Error('raw write lost rows');
    }
    const ms = performance.now() - start;
    return { rate: perSecond(rows.length, ms), seconds: ms / 1000, cpu: cpuSplit(cpuBefore, readCpu(), rows.length) };
  } finally {
    await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await cassandra.shutdown();
  }
}

async function rawLimit(label: string): Promise<number> {
  let best = 0;
  for (const concurrency of [16, 32, 64]) {
    const { rate, seconds, cpu } = await rawWrite(`bench_raw_${uniqueSuffix()}`, concurrency);
    console.log(`raw limit (${label}), concurrency ${concurrency}: ${rate} rows/s`);
    figure(`raw ${label} c=${concurrency}: ${rate} rows/s, ${seconds.toFixed(2)} s wall of writes; CPU (driver = bench)`, cpu);
    best = Math.max(best, rate);
  }
  return best;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; 100 ticks per second). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The process listening on a local TCP port (Linux /proc, same network namespace, needs permission to read its fds). */
function listenerPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const localPort = Number.parseInt(cols[1]?.split(':')[1] ?? '', 16);
      if (localPort === port && cols[3] === '0A' && cols[9] !== undefined) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // Gone, or not ours to read.
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // Closed since the listing.
      }
    }
  }
  return undefined;
}

/** The CPU seconds of the bench itself, the ingest child and the servers, read at one instant. */
type CpuReading = Record<string, number>;
let servers: Record<string, number | undefined> | undefined;
const bench = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
function readCpu(ingestPid?: number): CpuReading {
  const reading: CpuReading = { bench: bench() };
  if (ingestPid !== undefined) reading.ingest = cpuSeconds(ingestPid);
  // Found on first use, once the stack is up (ports of the local stack, see stackEnv).
  servers ??= { cassandra: listenerPid(9042), kafka: listenerPid(9092) };
  for (const [name, pid] of Object.entries(servers)) if (pid !== undefined) reading[name] = cpuSeconds(pid);
  return reading;
}
/** CPU seconds per process between two readings, and per 1,000 events. */
function cpuSplit(from: CpuReading, to: CpuReading, events: number): string {
  return Object.keys(to)
    .filter((name) => from[name] !== undefined && Number.isFinite(to[name]))
    .map((name) => {
      const seconds = (to[name] ?? 0) - (from[name] ?? 0);
      return `${name} ${seconds.toFixed(1)} s (${((seconds * 1000) / events).toFixed(3)} ms/event)`;
    })
    .join(', ');
}

/** Peak and current resident set of a process, MiB (Linux /proc). */
function rssMiB(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peak: Math.round(kib('VmHWM') / 1024), now: Math.round(kib('VmRSS') / 1024) };
}

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
let ingestChild: ChildProcess | undefined;

/** Removes the run's topics and keyspace and stops a stack it started: at the end or on a signal. */
const cleanUp = stopOnceAndOnSignals(
  async () => {
    // A bench that fails mid-run must not leave its ingest child consuming on.
    if (ingestChild?.exitCode === null) ingestChild.kill('SIGKILL');
    await deleteTopics(kafka, [topic, `${topic}-dlq`]).catch(() => undefined);
    const cassandra = await testCassandra(keyspace);
    await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await cassandra.shutdown();
    if (startedStack) await stackDown({ log: (line) => console.log(`[stack] ${line}`) });
  },
  (signal) => console.log(`\n${signal}: cleaning up what the benchmark made`),
);

try {
  await ensureTopics(kafka, [
    { topic, partitions },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
  const producer = await createMessageProducer(kafka);
  const produceStart = performance.now();
  for (let i = 0; i < messages.length; i += 2_000) await producer.send(topic, messages.slice(i, i + 2_000));
  figure('produce events/s (acks=all)', perSecond(messages.length, performance.now() - produceStart));
  await producer.disconnect();

  const rawBefore = await rawLimit('before');

  // Ingest as in production: its own process, default configuration, production's V8 flags
  // (BENCH_INGEST_NODE_OPTIONS replaces them for the ingest child only, e.g. while sweeping heap limits).
  const child = (ingestChild = spawn(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]),
      'services/ingest/src/main.ts',
    ],
    {
      env: {
        ...process.env,
        ...ingestTestEnv({
          topic,
          keyspace,
          groupId,
          extra: { NODE_OPTIONS: childNodeOptions, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
        }),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  ));
  const ingest: { exitCode: number | null } = { exitCode: null };
  child.once('exit', (code) => (ingest.exitCode = code ?? 1));
  const spawnedAt = performance.now();
  let firstCommit: { atMs: number; done: number; cpu: CpuReading } | undefined;
  const spawnCpu = readCpu(child.pid);
  let peakRss = 0;
  let lastReportMs = performance.now();
  for (;;) {
    if (ingest.exitCode !== null) throw new Error(`ingest exited with code ${ingest.exitCode}`);
    let lag: number;
    try {
      lag = (await consumerGroupLag(kafka, groupId, topic)).reduce((sum, p) => sum + p.lag, 0);
    } catch (err) {
      // A fresh broker has no group coordinator yet (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE): ask again.
      if (!(err instanceof Error && 'retriable' in err && err.retriable === true)) throw err;
      await sleep(100);
      continue;
    }
    const done = messages.length - lag;
    if (child.pid !== undefined) peakRss = Math.max(peakRss, rssMiB(child.pid).peak);
    if (!firstCommit && done > 0) firstCommit = { atMs: performance.now(), done, cpu: readCpu(child.pid) };
    if (lag === 0) break;
    if (performance.now() - lastReportMs > 5_000) {
      console.log(`ingest: ${done}/${messages.length} committed`);
      lastReportMs = performance.now();
    }
    if (performance.now() - spawnedAt > 15 * 60_000) throw new Error('ingest did not finish within 15 minutes');
    await sleep(100);
  }
  const endMs = performance.now();
  const endCpu = readCpu(child.pid);
  const endRss = child.pid === undefined ? 0 : rssMiB(child.pid).now;
  child.kill('SIGTERM');
  await new Promise((resolve) => (ingest.exitCode !== null ? resolve(ingest.exitCode) : child.once('exit', resolve)));

  const rawAfter = await rawLimit('after');
  const raw = Math.max(rawBefore, rawAfter);
  const start = firstCommit ?? { atMs: spawnedAt, done: 0, cpu: spawnCpu };
  const ingestRate = perSecond(messages.length - start.done, endMs - start.atMs);
  figure('raw limit rows/s (unlogged partition batches, best concurrency), before / after', `${rawBefore} / ${rawAfter}`);
  figure('ingest events/s (first commit -> lag 0, committed = durable)', ingestRate);
  figure('ingest seconds from spawn to lag 0 (start-up included)', ((endMs - spawnedAt) / 1000).toFixed(1));
  figure('ratio ingest / raw limit', (ingestRate / raw).toFixed(3));
  figure('ingest peak RSS (MiB, VmHWM of the ingest process)', peakRss);
  figure('ingest RSS at lag 0 (MiB, VmRSS)', endRss);
  figure('ingest node flags (NODE_OPTIONS of the child)', childNodeOptions || '(none)');
  figure(
    `ingest window CPU (first commit -> lag 0, ${((endMs - start.atMs) / 1000).toFixed(1)} s wall)`,
    cpuSplit(start.cpu, endCpu, messages.length - start.done),
  );
  figure('ingest CPU from spawn to lag 0 (start-up included)', cpuSplit(spawnCpu, endCpu, messages.length));
} finally {
  await cleanUp();
}
figure('load average (1/5/15 min) before', loadBefore);
figure('load average (1/5/15 min) after', load());

console.log('\nbenchmark figures (this machine, one run):');
for (const [name, value] of figures) console.log(`  ${name.padEnd(80)} ${value}`);
