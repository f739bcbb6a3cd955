/**
 * `npm run demo [-- --count N] [--seed S] [--exit]`: the whole pipeline on this machine.
 *
 * Brings up the servers (docker compose when a Docker engine answers, else the local stack),
 * starts ingest and aggregator as child processes (their JSON logs go to .stack/demo/*.log),
 * produces N synthetic clicks with the producer's progress bar, waits until every click is
 * ingested and every touched hour aggregated, and prints the top pages as a table. The dashboard
 * (http://localhost:8083/) starts beside ingest and aggregator. Then it keeps the pipeline and the
 * dashboard running until Ctrl-C (or stops at once with `--exit`), and stops what it started.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { cassandraConnectionOf, connectCassandra, createPendingHoursRepository } from '@clickstream/cassandra';
import { ConfigError } from '@clickstream/config';
import { elasticsearchConnectionOf } from '@clickstream/elasticsearch';
import { consumerGroupLag, createKafkaClient, kafkaConnectionOf } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';
import { loadAggregatorConfig } from '../services/aggregator/src/config.ts';
import type { AggregatorConfig } from '../services/aggregator/src/config.ts';
import { loadDashboardConfig } from '../services/dashboard/src/config.ts';
import type { DashboardConfig } from '../services/dashboard/src/config.ts';
import { loadIngestConfig } from '../services/ingest/src/config.ts';
import type { IngestConfig } from '../services/ingest/src/config.ts';
import { printTopMetrics } from './query.ts';
import { stackDown, stackIsUp, stackUp, stateDirOf } from './stack/stack.ts';
import { stopOnceAndOnSignals } from './stop-signals.ts';

const USAGE = 'usage: npm run demo -- [--count N] [--seed S] [--exit]';
let args: { count: number; seed: number; exit: boolean };
try {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      exit: { type: 'boolean', default: false },
    },
  });
  args = { count: Number(values.count), seed: Number(values.seed), exit: values.exit };
  if (!Number.isSafeInteger(args.count) || args.count < 1 || !Number.isSafeInteger(args.seed))
    throw new Error('--count must be a positive integer and --seed an integer');
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}

const say = (line: string): void => console.log(`[demo] ${line}`);
const env: Record<string, string | undefined> = {
  ...process.env,
  // Runs every 10 seconds (node-cron's optional seconds field), so the demo does not wait a minute.
  AGGREGATOR_SCHEDULE: process.env.AGGREGATOR_SCHEDULE || '*/10 * * * * *',
};
if (env.HTTP_PORT) {
  say('HTTP_PORT is ignored: ingest, aggregator and dashboard run side by side on their own default ports');
  delete env.HTTP_PORT;
}
// The services' own configuration, parsed as they will parse it: the same defaults, ports,
// credentials and TLS settings, and the same error for a wrong variable.
let ingestConfig: IngestConfig;
let aggregatorConfig: AggregatorConfig;
let dashboardConfig: DashboardConfig;
try {
  ingestConfig = loadIngestConfig(env);
  aggregatorConfig = loadAggregatorConfig(env);
  dashboardConfig = loadDashboardConfig(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`demo: ${err.message}`);
  process.exit(2);
}
const topic = ingestConfig.KAFKA_TOPIC;
const dashboardUrl = `http://localhost:${dashboardConfig.HTTP_PORT}/`;
const logDir = join(stateDirOf(), 'demo');
mkdirSync(logDir, { recursive: true });

/** What this run started, so that stopping undoes exactly that. */
const started: { services: ChildProcess[]; stack: string[]; compose: boolean } = { services: [], stack: [], compose: false };
/** Aborted by Ctrl-C while the stack is starting: it stops launching nodes and stops those it launched. */
const stackStart = { abort: new AbortController(), done: Promise.resolve() };

function dockerAnswers(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

async function bringUpServers(): Promise<void> {
  if (dockerAnswers()) {
    say('a Docker engine answers: starting Kafka, Cassandra and Elasticsearch with docker compose');
    const up = spawnSync('docker', ['compose', 'up', '-d', '--wait', 'kafka', 'cassandra', 'elasticsearch'], { stdio: 'inherit' });
    if (up.status !== 0) throw new Error('docker compose up failed (see its output above)');
    started.compose = true;
    return;
  }
  if (await stackIsUp()) {
    say('the local stack is already up: using it');
    return;
  }
  say('no Docker engine: starting the local stack (the first time downloads the servers, a few minutes)');
  const up = stackUp({
    log: (line) => say(`stack: ${line}`),
    signal: stackStart.abort.signal,
    onStarted: (name) => started.stack.push(name),
  });
  stackStart.done = up.then(
    () => undefined,
    () => undefined,
  );
  await up;
}

/** Rejects when a service the demo started exits before the demo stops it: the demo then fails. */
let serviceExited: (err: Error) => void = () => undefined;
const serviceFailure = new Promise<never>((_, reject) => (serviceExited = reject));
serviceFailure.catch(() => undefined);

/** Fails when something already listens on a service's port (another demo, or the service run by hand). */
async function assertPortFree(name: string, port: number): Promise<void> {
  const taken = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2_000 });
    const answer = (value: boolean): void => {
      socket.destroy();
      resolve(value);
    };
    socket.once('connect', () => answer(true));
    socket.once('timeout', () => answer(true));
    socket.once('error', () => answer(false));
  });
  if (taken) throw new Error(`${name}'s port ${port} is taken: is another demo, or npm run ${name}, still running? Stop it first`);
}

function startService(name: string, script: string, extraArgs: string[] = []): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', script, ...extraArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.once('exit', (code, signal) => {
    if (!stopping) serviceExited(new Error(`${name} exited (${signal ?? `code ${code}`}); its log: ${join(logDir, `${name}.log`)}`));
  });
  started.services.push(child);
  say(`${name} started (pid ${child.pid}), logs in ${join(logDir, `${name}.log`)}`);
  return child;
}

async function waitForReady(name: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode} while starting: see ${join(logDir, `${name}.log`)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(500);
  }
  throw new Error(`${name} was not ready within 120 s: see ${join(logDir, `${name}.log`)}`);
}

function runProducer(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=TimeoutNegativeWarning',
        'services/producer/src/main.ts',
        '--count',
        String(args.count),
        '--seed',
        String(args.seed),
        '--invalid-ratio',
        '0.01',
      ],
      {
        env,
        stdio: 'inherit',
      },
    );
    started.services.push(child);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the producer exited with code ${code}`))));
  });
}

/** Waits until ingest has committed every message and the aggregator has no hour left to do. */
async function waitUntilAggregated(): Promise<void> {
  const logger = createLogger({ service: 'demo', level: 'fatal' });
  const kafka = createKafkaClient({ ...kafkaConnectionOf(ingestConfig), clientId: 'clickstream-demo', retries: 2 }, logger);
  const cassandra = await connectCassandra(cassandraConnectionOf(aggregatorConfig), logger);
  const pending = createPendingHoursRepository(cassandra);
  const since = Date.now();
  try {
    for (;;) {
      const lag = (await consumerGroupLag(kafka, ingestConfig.KAFKA_GROUP_ID, topic)).reduce((sum, p) => sum + p.lag, 0);
      const hours = lag === 0 ? (await pending.pending()).hours.length : null;
      if (hours === 0) return;
      say(lag > 0 ? `waiting: ${lag} messages left to ingest` : `waiting: ${hours} hour window(s) left to aggregate`);
      if (Date.now() - since > 15 * 60_000) throw new Error(`not aggregated after 15 minutes: see the logs in ${logDir}`);
      await sleep(5_000);
    }
  } finally {
    await cassandra.shutdown();
  }
}

let stopping = false;
/** Stops what the demo started, once: at its end, on failure, or on a signal. */
const stopAll = stopOnceAndOnSignals(stopEverything, (signal) =>
  say(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping what the demo started`),
);

async function stopEverything(): Promise<void> {
  stopping = true;
  // A stack still starting stops launching; a failed start already stopped what it launched.
  stackStart.abort.abort();
  await stackStart.done;
  for (const child of started.services) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(
    started.services.filter((child) => child.exitCode === null).map((child) => new Promise((resolve) => child.once('exit', resolve))),
  );
  if (started.services.length > 0) say('ingest, aggregator and dashboard stopped');
  if (started.compose) {
    spawnSync('docker', ['compose', 'stop', 'kafka', 'cassandra', 'elasticsearch'], { stdio: 'inherit' });
  } else if (started.stack.length > 0) {
    // stackDown stops only those of them still running.
    await stackDown({ log: (line) => say(`stack: ${line}`), only: started.stack });
  }
}

/** The demo itself: servers, services, clicks, and the numbers once aggregated. */
async function demo(): Promise<void> {
  const began = Date.now();
  await assertPortFree('ingest', ingestConfig.HTTP_PORT);
  await assertPortFree('aggregator', aggregatorConfig.HTTP_PORT);
  await assertPortFree('dashboard', dashboardConfig.HTTP_PORT);
  await bringUpServers();
  const ingest = startService('ingest', 'services/ingest/src/main.ts');
  await waitForReady('ingest', ingestConfig.HTTP_PORT, ingest);
  const aggregator = startService('aggregator', 'services/aggregator/src/main.ts');
  await waitForReady('aggregator', aggregatorConfig.HTTP_PORT, aggregator);
  const dashboard = startService('dashboard', 'services/dashboard/src/main.ts');
  await waitForReady('dashboard', dashboardConfig.HTTP_PORT, dashboard);
  say(`producing ${args.count} clicks (seed ${args.seed}) to the topic '${topic}'`);
  await runProducer();
  await waitUntilAggregated();
  say(`all clicks ingested and aggregated, ${Math.round((Date.now() - began) / 1000)} s after the start`);
  await printTopMetrics({
    connection: elasticsearchConnectionOf(aggregatorConfig),
    index: aggregatorConfig.ELASTICSEARCH_INDEX,
    granularity: 'all',
    limit: 15,
  });
  say(
    `the data: events in Cassandra (${aggregatorConfig.CASSANDRA_CONTACT_POINTS.join(',')}, table ${aggregatorConfig.CASSANDRA_KEYSPACE}.events), ` +
      `metrics in Elasticsearch (${aggregatorConfig.ELASTICSEARCH_URL}, alias ${aggregatorConfig.ELASTICSEARCH_INDEX}), invalid events on '${ingestConfig.KAFKA_DLQ_TOPIC}' (npm run dlq); ` +
      `ask more with npm run query -- --url <url_key>`,
  );
  say(`the dashboard: ${dashboardUrl}`);
}

try {
  await Promise.race([demo(), serviceFailure]);
  if (args.exit) {
    await stopAll();
  } else {
    say(
      `the pipeline keeps running (ingest :${ingestConfig.HTTP_PORT}, aggregator :${aggregatorConfig.HTTP_PORT}, dashboard ${dashboardUrl}; try npm run produce in another terminal). Ctrl-C stops it.`,
    );
    // The children keep running; this keeps the demo alive until a signal stops it, or a service fails.
    setInterval(() => undefined, 1 << 30);
    await serviceFailure;
  }
} catch (err) {
  // A step failing because a signal is stopping everything is no failure: the signal's exit code says it.
  const bySignal = stopping;
  if (!bySignal) console.error(`[demo] failed: ${err instanceof Error ? err.message : String(err)}`);
  await stopAll();
  // Steps still under way (a wait for the clicks) must not keep the demo alive.
  if (!bySignal) process.exit(1);
}
