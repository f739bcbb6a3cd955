/**
 * `npm run bench:cluster [-- --count N] [--seed S]`: one ingest process against two in one
 * consumer group, on the 3-node stack (RF 3), in the same run, and prints events/s of each.
 *
 * The same N generated messages go to two fresh 6-partition topics (RF 3). Each round starts its
 * ingest processes (`node services/ingest/src/main.ts`, as production runs them), waits until
 * each is ready, and times from then until the group committed every message. Beside events/s
 * it prints the CPU seconds the ingest processes and the Java servers spent in the round, which
 * is where the second process' gain goes on a 2-core machine. Brings the 3-node stack up when it
 * is not up (and stops it again); drops its topics and keyspaces.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClickGenerator } from '@clickstream/clickgen';
import { connectCassandra, ensureSchema } from '@clickstream/cassandra';
import { consumerGroupLag, createKafkaClient, createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import { HOUR_MS } from '@clickstream/metrics';
import { createLogger } from '@clickstream/observability';
import { livePid } from './stack/process.ts';
import { stackDown, stackIsUp, stackNodes, stackUp } from './stack/stack.ts';
import { stopOnceAndOnSignals } from './stop-signals.ts';
import { parseCommandLine } from '@clickstream/config';

const USAGE = 'usage: npm run bench:cluster -- [--count N] [--seed S]   (N a positive integer, S an integer)';
const values = parseCommandLine({ count: { type: 'string', default: '60000' }, seed: { type: 'string', default: '7' } }, USAGE);
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
  console.error(USAGE);
  process.exit(2);
}

const BROKERS = '127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092';
const CONTACT_POINTS = '127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042';
const say = (line: string): void => console.log(`[bench:cluster] ${line}`);
const logger = createLogger({ service: 'bench', level: 'error' });

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function serverCpuSeconds(): number {
  return stackNodes({ nodes: 3 }).reduce((sum, node) => {
    const pid = livePid(node.pidFile);
    return sum + (pid === null ? 0 : cpuSeconds(pid));
  }, 0);
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`an ingest process exited with code ${child.exitCode} while starting`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`ingest on port ${port} not ready within 120 s`);
}

let startedStack: string[] = [];
if (!(await stackIsUp({ nodes: 3 }))) {
  say('the 3-node stack is not up: starting it (stopped again at the end)');
  startedStack = await stackUp({ nodes: 3, log: (line) => say(`stack: ${line}`) });
}
const kafka = createKafkaClient({ brokers: BROKERS.split(','), clientId: 'bench-cluster', retries: 5 }, logger);
const now = Date.now();
const messages = [
  ...createClickGenerator({
    seed,
    count,
    startMs: now - 24 * HOUR_MS,
    spanMs: 23 * HOUR_MS,
    invalidRatio: 0.01,
    duplicateRatio: 0.01,
    nowMs: now,
  }),
].map((m) => ({ key: m.key, value: m.value }));
const suffix = `${now.toString(36)}`;
const rounds: { processes: number; eventsPerSecond: number; seconds: number; ingestCpu: number; serverCpu: number }[] = [];
const cleanups: (() => Promise<void>)[] = [];

/** One round: `processes` ingest processes in one group over a fresh copy of the messages. */
async function round(processes: number): Promise<void> {
  const topic = `bench-cluster-${processes}p-${suffix}`;
  const keyspace = `bench_cluster_${processes}p_${suffix}`;
  await ensureTopics(kafka, [
    { topic, partitions: 6, replicationFactor: 3 },
    { topic: `${topic}-dlq`, partitions: 1, replicationFactor: 3 },
  ]);
  const cassandra = await connectCassandra({ contactPoints: CONTACT_POINTS.split(','), localDataCenter: 'datacenter1', keyspace }, logger);
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 3 });
  cleanups.push(async () => {
    await deleteTopics(kafka, [topic, `${topic}-dlq`]);
    await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await cassandra.shutdown();
  });
  const producer = await createMessageProducer(kafka);
  for (let i = 0; i < messages.length; i += 2_000) await producer.send(topic, messages.slice(i, i + 2_000));
  await producer.disconnect();

  const groupId = `bench-cluster-${processes}p-${suffix}`;
  const children = Array.from({ length: processes }, (_, i) =>
    spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/ingest/src/main.ts'], {
      env: {
        ...process.env,
        KAFKA_BROKERS: BROKERS,
        CASSANDRA_CONTACT_POINTS: CONTACT_POINTS,
        CASSANDRA_REPLICATION: '3',
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}-dlq`,
        KAFKA_GROUP_ID: groupId,
        CASSANDRA_KEYSPACE: keyspace,
        HTTP_PORT: String(18_090 + i),
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  try {
    await Promise.all(children.map((child, i) => waitReady(18_090 + i, child)));
    const began = performance.now();
    const cpuBefore = { ingest: children.reduce((s, c) => s + cpuSeconds(c.pid ?? 0), 0), servers: serverCpuSeconds() };
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const lag = (await consumerGroupLag(kafka, groupId, topic)).reduce((sum, p) => sum + p.lag, 0);
      if (lag === 0) break;
      if (children.some((c) => c.exitCode !== null)) throw new Error('an ingest process exited during the round');
      if (Date.now() > deadline) throw new Error(`${lag} messages still not committed after 30 minutes`);
      await sleep(200);
    }
    const seconds = (performance.now() - began) / 1000;
    rounds.push({
      processes,
      seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(messages.length / seconds),
      ingestCpu: Math.round(children.reduce((s, c) => s + cpuSeconds(c.pid ?? 0), 0) - cpuBefore.ingest),
      serverCpu: Math.round(serverCpuSeconds() - cpuBefore.servers),
    });
    say(`${processes} process(es): ${JSON.stringify(rounds.at(-1))}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())));
  }
}

/** Removes the rounds' topics and keyspaces and stops the nodes this run started: at the end or on a signal. */
const cleanUp = stopOnceAndOnSignals(
  async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    if (startedStack.length > 0) await stackDown({ log: (line) => say(`stack: ${line}`), only: startedStack });
  },
  (signal) => say(`${signal}: cleaning up what the benchmark made`),
);

try {
  say(`${messages.length} messages per round, 6 partitions, RF 3; load average before: ${loadavg()[0]?.toFixed(2)}`);
  await round(1);
  await round(2);
  const [one, two] = rounds;
  if (one && two) {
    console.log('\nprocesses  events/s  seconds  ingest CPU s  servers CPU s');
    for (const r of rounds)
      console.log(
        `${String(r.processes).padStart(9)}  ${String(r.eventsPerSecond).padStart(8)}  ${String(r.seconds).padStart(7)}  ${String(r.ingestCpu).padStart(12)}  ${String(r.serverCpu).padStart(13)}`,
      );
    console.log(
      `two processes / one: x${(two.eventsPerSecond / one.eventsPerSecond).toFixed(2)}; load average after: ${loadavg()[0]?.toFixed(2)}`,
    );
  }
} catch (err) {
  console.error(`[bench:cluster] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
