/**
 * `npm run bench:aggregator [-- --clicks N] [--hours H] [--extra E] [--seed S] [--busiest-hour N] [--busy-hours K] [--distinct-pages P [--page-chars C]] [--heap-mb M] [--profile] [--no-pyspark] [--keep] [--reuse DIR]`:
 * measures the aggregator on this machine and prints the figures.
 *
 * `--busiest-hour N` adds N clicks of 300,000 users in one hour (the hour before the latest one) to
 * the load: the day holding it must aggregate within the Deployment's memory limit (peak RSS).
 * `--busy-hours K` puts N such clicks in each of K neighbouring hours (the K before the latest
 * one): hours aggregated in parallel (`AGGREGATOR_HOUR_CONCURRENCY`) that are all big at once.
 * `--distinct-pages P` adds P clicks to P distinct pages (`/item/<n>`, one click each, 20,000
 * users, country FR) in the hour before the latest one: a day of that many (url, country) groups
 * must aggregate within the Deployment's memory limit too (AGGREGATOR_MAX_GROUPS_IN_MEMORY).
 * `--page-chars C` (at most 2,000) pads those pages' paths to C characters: long url_keys.
 * `--heap-mb M` gives the aggregator child `--max-old-space-size=M --max-semi-space-size=16` (0: no
 * caps); by default it gets production's flags (services/aggregator/src/node-flags.ts).
 * `--keep` keeps the keyspace and the CSV in a directory it prints; `--reuse DIR` runs again on
 * that keyspace (its aggregator state and index reset, nothing loaded again): repeated
 * measurements of the same events without waiting for the load.
 *
 * 1. load: N generated clicks over the last H hours (packages/clickgen) go through ingest's own
 *    decode -> validate -> enrich step and straight into a fresh keyspace through the events
 *    repository, with the pending-hour markers ingest would write. Not through Kafka + ingest:
 *    that path is measured by `npm run bench`, adds minutes, and changes nothing the aggregator
 *    reads. The same rows are exported to CSV for PySpark.
 * 2. full run: once Cassandra has no flush or compaction left from the load (PySpark, later, gets the
 *    same wait), the real service (`services/aggregator/src/main.ts --once`) as a child process on
 *    that keyspace and a fresh index: its own run duration (from its log line) and the process'
 *    wall time, documents, peak RSS (VmHWM of /proc/<pid>/status, sampled every 50 ms), CPU
 *    seconds of the aggregator and (when the stack was started from this clone) of Cassandra and
 *    Elasticsearch during the run, and the Cassandra requests it caused by table (the node's
 *    coordinator counters). `--profile` adds a V8 CPU profile of the run, summarised by
 *    where the aggregator's CPU went (Cassandra driver, Elasticsearch client, metrics, ...), and
 *    one of the running service in step 5 (its start-up and idle runs included).
 * 3. PySpark: the same events, CSV, `local[2]` (scripts/bench/pyspark-metrics.py): duration
 *    without its session start, the ratio aggregator / PySpark, and every PySpark row compared
 *    with the aggregator's document of the same (granularity, window, url, country).
 * 4. incremental: E more clicks in the latest hour, then one more `--once` run: duration,
 *    documents re-indexed, and groups changed (documents whose numbers or final flag differ
 *    from before the run, read back from Elasticsearch). Then E more in the latest hour's second
 *    half only, and another run: only that hour is pending (no earlier hour's look-ahead changed),
 *    as in every run of an hour's second half.
 * 5. three more rounds of E clicks in the running service (its schedule every 2 s).
 *
 * Brings the local stack up when it is not up (and stops it again); drops its keyspace and index
 * unless `--keep`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedMessage } from '@clickstream/clickgen';
import { createEventsRepository, createPendingHoursRepository, ensureSchema } from '@clickstream/cassandra';
import type { ClickMessage, EnrichedClick } from '@clickstream/events';
import { createEnricher, createGeoLookup, createUserAgentParser } from '@clickstream/enrichment';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import { HOUR_MS, SESSION_GAP_MS } from '@clickstream/metrics';
import { AGGREGATOR_NODE_OPTIONS } from '../services/aggregator/src/node-flags.ts';
import { createBatchProcessor } from '../services/ingest/src/process-batch.ts';
import { readAllMetricDocuments } from '../test/e2e/metric-comparison.ts';
import { stackEnv, testCassandra, testLogger, uniqueSuffix } from '../test/support/stack-clients.ts';
import { stackDown, stackIsUp, stackStatus, stackUp } from './stack/stack.ts';
import { stopOnceAndOnSignals } from './stop-signals.ts';
import { parseCommandLine } from '@clickstream/config';

const BATCH = 5_000;
/** Incremental rounds measured in the running service (its first run has nothing to do but warm up). */
const SERVICE_ROUNDS = 3;
/** The young-generation cap given with `--heap-mb` (by default the child gets the production flags, AGGREGATOR_NODE_OPTIONS). */
const SEMI_SPACE_MB = 16;
/** Polls of Cassandra's flush and compaction pools in a row that must find them idle. */
const SETTLED_POLLS = 5;
/** How long the benchmark waits for Cassandra to settle before it measures anyway (and says so). */
const SETTLE_LIMIT_MS = 600_000;

/** The aggregator's tables a `--reuse` empties (not the events, not the change counters: every hour stays pending). */
const AGGREGATOR_STATE_TABLES = [
  'hour_changes_done',
  'day_changes_done',
  'hour_groups',
  'hour_user_sets',
  'day_groups',
  'day_rollup_marks',
  'day_totals',
  'group_users',
  'open_windows',
  'published_index',
  'lease_grants',
];

const USAGE =
  'usage: npm run bench:aggregator -- [--clicks N] [--hours H] [--extra E] [--seed S] [--busiest-hour N] [--busy-hours K] [--distinct-pages P [--page-chars C]] [--heap-mb M] [--profile] [--no-pyspark] [--keep] [--reuse DIR]';
const values = parseCommandLine(
  {
    clicks: { type: 'string', default: '1000000' },
    hours: { type: 'string', default: '72' },
    extra: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '7' },
    'busiest-hour': { type: 'string', default: '0' },
    'busy-hours': { type: 'string', default: '1' },
    'distinct-pages': { type: 'string', default: '0' },
    'page-chars': { type: 'string', default: '0' },
    'heap-mb': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-pyspark': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
  },
  USAGE,
);
const clicks = Number(values.clicks);
const hours = Number(values.hours);
const extra = Number(values.extra);
const seed = Number(values.seed);
const busiestHour = Number(values['busiest-hour']);
const busyHours = Number(values['busy-hours']);
const distinctPages = Number(values['distinct-pages']);
const pageChars = Number(values['page-chars']);
const heapMb = values['heap-mb'] === undefined ? null : Number(values['heap-mb']);
const childFlags =
  heapMb === null
    ? AGGREGATOR_NODE_OPTIONS.split(' ')
    : heapMb === 0
      ? []
      : [`--max-old-space-size=${heapMb}`, `--max-semi-space-size=${SEMI_SPACE_MB}`];
if (
  ![clicks, hours, extra].every((n) => Number.isSafeInteger(n) && n >= 1) ||
  ![busiestHour, distinctPages, heapMb ?? 0].every((n) => Number.isSafeInteger(n) && n >= 0) ||
  !(Number.isSafeInteger(pageChars) && pageChars >= 0 && pageChars <= 2_000) ||
  !(Number.isSafeInteger(busyHours) && busyHours >= 1 && busyHours < hours) ||
  !Number.isSafeInteger(seed)
) {
  console.error(USAGE);
  process.exit(2);
}

const figures: [string, string][] = [];
const figure = (name: string, value: string | number): void => {
  figures.push([name, String(value)]);
  console.log(`${name}: ${value}`);
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const commit = spawnSync('git', ['log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim().slice(0, 100);
figure('commit', commit);
/** What the keyspace holds: a reused one says what it was loaded with (not this run's load options). */
const loaded = `${clicks} over ${hours} h${busiestHour > 0 ? `, +${busiestHour} of 300,000 users in each of ${busyHours} hour(s)` : ''}${distinctPages > 0 ? `, +${distinctPages} to as many pages${pageChars > 0 ? ` of ${pageChars} characters` : ''} in one hour` : ''} (seed ${seed})`;
const loadedFile = values.reuse === undefined ? undefined : join(values.reuse, 'loaded');
figure(
  'clicks',
  `${loadedFile !== undefined && existsSync(loadedFile) ? `reused keyspace of ${readFileSync(loadedFile, 'utf8').trim()} and its earlier extra clicks` : loaded}, +${extra} in the latest hour`,
);
figure('aggregator V8 flags', childFlags.length === 0 ? 'none' : childFlags.join(' '));

let startedStack = false;
if (!(await stackIsUp())) {
  console.log('local stack is not up: starting it (stopped again at the end)');
  await stackUp({ log: (line) => console.log(`[stack] ${line}`) });
  startedStack = true;
}
const servers = Object.fromEntries((await stackStatus()).map((s) => [s.name, s.pid]));
const suffix = uniqueSuffix();
const workDir = values.reuse ?? mkdtempSync(join(tmpdir(), 'bench-aggregator-'));
const keyspace = values.reuse ? readFileSync(join(workDir, 'keyspace'), 'utf8').trim() : `bench_agg_${suffix}`;
const alias = `bench-agg-${suffix}`;
const cassandra = await testCassandra(keyspace);
const es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
const env = {
  ...stackEnv,
  CASSANDRA_KEYSPACE: keyspace,
  ELASTICSEARCH_INDEX: alias,
  HTTP_PORT: '0',
  LOG_LEVEL: 'info',
};

/** Removes what the run made (kept with --keep or --reuse) and stops a stack it started: at the end or on a signal. */
const cleanUp = stopOnceAndOnSignals(
  async () => {
    // The index goes whatever is kept: a --reuse run indexes afresh into an index of its own.
    await es.driver.indices.delete({ index: `${alias}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await es.driver.indices.deleteIndexTemplate({ name: `${alias}-template` }).catch(() => undefined);
    if (!values.keep && !values.reuse) {
      await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      rmSync(workDir, { recursive: true, force: true });
    } else {
      writeFileSync(join(workDir, 'keyspace'), keyspace);
      if (!values.reuse) writeFileSync(join(workDir, 'loaded'), loaded);
      console.log(`kept: keyspace ${keyspace} and its CSV in ${workDir} (run again with --reuse ${workDir})`);
    }
    await es.close();
    await cassandra.shutdown();
    if (startedStack) await stackDown({ log: (line) => console.log(`[stack] ${line}`) });
  },
  (signal) => console.log(`\n${signal}: cleaning up what the benchmark made`),
);

try {
  await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
  const events = createEventsRepository(cassandra, { concurrency: 64 });
  const pending = createPendingHoursRepository(cassandra);
  const processBatch = createBatchProcessor({
    enrich: createEnricher({ geo: createGeoLookup(), userAgents: createUserAgentParser({ cacheSize: 10_000 }), ipPolicy: 'truncated' }),
    now: () => new Date(),
  });
  const csvPath = join(workDir, 'events.csv');
  let csv = createWriteStream(csvPath, { flags: values.reuse ? 'a' : 'w' });
  if (!values.reuse) csv.write('event_id,user_id,session_id,event_time_ms,url_key,country,time_spent_ms,is_bot\n');
  const closeCsv = (): Promise<void> =>
    new Promise<void>((resolve, reject) => csv.end((err?: Error | null) => (err ? reject(err) : resolve())));

  /** Stores generated messages as ingest would (rows, then markers), in batches; returns the rows stored. */
  const storeMessages = async (generated: Iterable<Pick<GeneratedMessage, 'key' | 'value'>>): Promise<number> => {
    let stored = 0;
    let batch: ClickMessage[] = [];
    const flush = async (): Promise<void> => {
      const processed = processBatch(batch);
      await events.writeEvents(processed.rows);
      await pending.mark(processed.affectedHoursMs);
      csv.write(processed.rows.map(csvLine).join(''));
      stored += processed.rows.length;
      batch = [];
    };
    for (const m of generated) {
      batch.push({
        topic: 'bench',
        partition: 0,
        offset: String(stored + batch.length),
        key: m.key === null ? null : Buffer.from(m.key),
        value: Buffer.from(m.value),
      });
      if (batch.length >= BATCH) await flush();
    }
    if (batch.length > 0) await flush();
    return stored;
  };

  // 1. Load (or, reusing a kept keyspace, reset the aggregator's state: every hour is pending again).
  const nowMs = Date.now();
  const latestHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const startMs = latestHourMs - (hours - 1) * HOUR_MS;
  const started = performance.now();
  if (values.reuse) {
    for (const table of AGGREGATOR_STATE_TABLES) await cassandra.driver.execute(`TRUNCATE ${keyspace}.${table}`);
    figure('load: reused keyspace (aggregator state truncated)', keyspace);
  } else {
    let rows = await storeMessages(createClickGenerator({ seed, count: clicks, startMs, spanMs: hours * HOUR_MS, nowMs: nowMs + HOUR_MS }));
    for (let busy = 0; busiestHour > 0 && busy < busyHours; busy += 1) {
      rows += await storeMessages(
        createClickGenerator({
          seed: seed + 2 + busy,
          count: busiestHour,
          startMs: latestHourMs - (busy + 1) * HOUR_MS,
          spanMs: HOUR_MS,
          users: 300_000,
          nowMs: nowMs + HOUR_MS,
        }),
      );
    }
    if (distinctPages > 0) rows += await storeMessages(distinctPageClicks(distinctPages, latestHourMs - HOUR_MS, pageChars));
    figure('load: rows stored (events repository, 64 in flight)', `${rows} in ${seconds(performance.now() - started)} s`);
  }

  await closeCsv();
  // 2. Full run on the fresh keyspace and index, once Cassandra has finished writing the load down.
  figure('Cassandra settled before the full run (flushes and compactions finished)', await settleCassandra());
  figure('load average before the full run', load());
  const full = await runAggregator(values.profile);
  runFigures('full run', full);
  figure('full run: process wall time (start-up, schema, template, run, exit)', `${seconds(full.wallMs)} s`);
  const before = await snapshot();
  figure('documents in the index after the full run', before.size);

  // 3. PySpark on the same events, in the same conditions: Cassandra done with the full run's writes.
  figure('Cassandra settled before PySpark', await settleCassandra());
  const pysparkS = runPyspark(before);
  if (pysparkS !== null) figure('ratio aggregator full run / pyspark (target <= 0.8)', (full.runMs / 1000 / pysparkS).toFixed(2));

  // 4. +extra clicks in the latest hour, incremental run (in the CSV too, for a later `--reuse`, which adds others).
  /**
   * `extra` more clicks in the latest hour (from `fromMs` into it), in the keyspace and the CSV (a
   * later `--reuse` adds others).
   */
  const addClicks = async (seedOffset: number, fromMs = 0): Promise<number> => {
    csv = createWriteStream(csvPath, { flags: 'a' });
    const stored = await storeMessages(
      createClickGenerator({
        seed: values.reuse ? seed + seedOffset + Date.now() : seed + seedOffset,
        count: extra,
        startMs: latestHourMs + fromMs,
        spanMs: HOUR_MS - fromMs,
        nowMs: Date.now() + HOUR_MS,
      }),
    );
    await closeCsv();
    return stored;
  };
  const added = await addClicks(1);
  figure('load average before the incremental run', load());
  const incremental = await runAggregator(values.profile);
  const after = await snapshot();
  let changed = 0;
  for (const [key, value] of after) if (before.get(key) !== value) changed += 1;
  for (const key of before.keys()) if (!after.has(key)) changed += 1;
  figure('incremental: clicks added', added);
  runFigures('incremental', incremental);
  figure('incremental: groups changed (documents whose numbers or final flag differ)', changed);

  // 4b. The same with the clicks in the latest hour's second half only: they are no earlier hour's
  //     30-minute look-ahead, so only the latest hour is pending. That is every run of the second half
  //     of an hour; the runs of its first half also recompute the hour before (step 4's case).
  const addedLate = await addClicks(3, SESSION_GAP_MS);
  const lateOnly = await runAggregator(false);
  figure('incremental, latest hour only: clicks added (in its second half)', addedLate);
  runFigures('incremental, latest hour only', lateOnly);

  // 5. The same in the running service: production runs the aggregator as a long-lived process on
  //    its schedule, so every run after its first is made by code V8 has already compiled. The
  //    service runs every 2 s; each round adds `extra` clicks and waits for a run that started after them.
  const serviceProfileDir = join(workDir, `profile-service-${Date.now()}`);
  const service = spawnAggregator({
    env: { AGGREGATOR_SCHEDULE: '*/2 * * * * *' },
    nodeFlags: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${serviceProfileDir}`] : [],
  });
  try {
    await service.nextSummary(0);
    const rounds: string[] = [];
    for (let round = 1; round <= SERVICE_ROUNDS; round += 1) {
      // From before the clicks: a scheduled run may start while they are being added, once some are
      // marked, and take them all; waiting for a run started after they were added then waited for ever.
      const since = Date.now();
      await addClicks(100 + round);
      // A run with nothing pending started before the clicks were marked, however late its summary line says it began.
      const summary = await service.nextSummary(since, (found) => Number(found.pendingHours) > 0);
      const run = figuresOf(summary);
      rounds.push(
        `${seconds(run.runMs)} s (windows ${JSON.stringify(summary.windows)}, documents ${JSON.stringify(run.documents)}, steps ${run.stepMs})`,
      );
    }
    rounds.forEach((round, index) => figure(`incremental in the running service, round ${index + 1}: duration`, round));
  } finally {
    const { peakRssMiB } = await service.exit(true);
    figure('incremental in the running service: peak RSS (VmHWM)', `${peakRssMiB.toFixed(0)} MiB`);
    if (values.profile)
      figure(
        'incremental in the running service: aggregator CPU by where it went (ms, V8 profile, start-up included)',
        summariseProfile(serviceProfileDir),
      );
  }
} finally {
  await cleanUp();
}

console.log('\n| figure | value |\n|---|---|');
for (const [name, value] of figures) console.log(`| ${name} | ${value} |`);

/** One CSV line of a stored row (RFC 4180 quoting), as pyspark-metrics.py reads it. */
function csvLine(row: EnrichedClick): string {
  const text = (value: string | null): string => (value === null ? '' : `"${value.replaceAll('"', '""')}"`);
  return `${text(row.eventId)},${text(row.userId)},${text(row.sessionId)},${row.eventTime.getTime()},${text(row.urlKey)},${text(row.country)},${row.timeSpentMs ?? ''},${row.isBot}\n`;
}

/** Every document's numbers and final flag, by (granularity, window start, url, country). */
async function snapshot(): Promise<Map<string, string>> {
  const documents = await readAllMetricDocuments(es, alias);
  return new Map(
    documents.map((d) => [
      JSON.stringify([d.granularity, d.window_start === null ? null : Date.parse(d.window_start), d.url, d.country]),
      JSON.stringify([d.clicks, d.unique_users, d.time_spent_sum_ms, d.time_spent_samples, d.final]),
    ]),
  );
}

/** What one run of the aggregator child measured. */
interface RunFigures {
  runMs: number;
  wallMs: number;
  documents: unknown;
  stepMs: string;
  /** Windows the run recomputed, by granularity. */
  windows: string;
  peakRssMiB: number;
  cpu: string;
  /** Cassandra requests the run caused, by kind and table. */
  requests: string;
  profile: string | null;
}

/** Prints what a `--once` run measured, each figure under `label`. */
function runFigures(label: string, run: RunFigures): void {
  figure(`${label}: duration (the run, from its log line)`, `${seconds(run.runMs)} s`);
  figure(`${label}: windows recomputed`, run.windows);
  figure(`${label}: documents written`, JSON.stringify(run.documents));
  figure(`${label}: wall time by step (ms)`, run.stepMs);
  figure(`${label}: peak RSS (VmHWM)`, `${run.peakRssMiB.toFixed(0)} MiB`);
  figure(`${label}: CPU seconds (aggregator / cassandra / elasticsearch)`, run.cpu);
  figure(`${label}: Cassandra requests by table`, run.requests);
  if (run.profile) figure(`${label}: aggregator CPU by where it went (ms, V8 profile)`, run.profile);
}

/** Runs `main.ts --once` as a child process, sampling its memory and CPU. */
async function runAggregator(profile: boolean): Promise<RunFigures> {
  const profileDir = join(workDir, `profile-${Date.now()}`);
  const requestsBefore = await requestsByTable();
  const child = spawnAggregator({ args: ['--once'], nodeFlags: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
  const summary = await child.nextSummary(0);
  const { code, ...measured } = await child.exit();
  if (code !== 0) throw new Error(`the aggregator run failed (exit ${code})`);
  const requestsAfter = await requestsByTable();
  const requests = [...requestsAfter]
    .map(([table, count]) => [table, count - (requestsBefore.get(table) ?? 0)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([table, count]) => `${table} ${count}`)
    .join('; ');
  return { ...figuresOf(summary), ...measured, requests, profile: profile ? summariseProfile(profileDir) : null };
}

/**
 * Waits until the node has no flush or compaction running or queued (`system_views.thread_pools`,
 * SETTLED_POLLS polls a second apart), at most SETTLE_LIMIT_MS. A full run started right after the
 * load shares the cores with the load's compactions, which PySpark, run later, never does (the
 * first full run took 67-77 s there against 46 s on the settled keyspace): both now start settled.
 * Returns what it waited, for the figures.
 */
async function settleCassandra(): Promise<string> {
  const started = performance.now();
  let idlePolls = 0;
  while (idlePolls < SETTLED_POLLS) {
    if (performance.now() - started > SETTLE_LIMIT_MS) return `not settled after ${seconds(SETTLE_LIMIT_MS)} s: measured anyway`;
    const pools = await cassandra.driver.execute('SELECT name, active_tasks, pending_tasks FROM system_views.thread_pools');
    const busy = pools.rows.some(
      (row) =>
        /^(CompactionExecutor|MemtableFlushWriter)$/.test(String(row.get('name'))) &&
        Number(row.get('active_tasks')) + Number(row.get('pending_tasks')) > 0,
    );
    idlePolls = busy ? 0 : idlePolls + 1;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return `after ${seconds(performance.now() - started)} s`;
}

/**
 * Requests the Cassandra node coordinated for each of the keyspace's tables since it started
 * (`system_views.coordinator_{read,write,scan}_latency`, node-local: the local stack's one node).
 */
async function requestsByTable(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const kind of ['read', 'write', 'scan']) {
    const result = await cassandra.driver.execute(
      `SELECT table_name, count FROM system_views.coordinator_${kind}_latency WHERE keyspace_name = ? ALLOW FILTERING`,
      [keyspace],
    );
    for (const row of result.rows) counts.set(`${kind} ${String(row.get('table_name'))}`, Number(row.get('count')));
  }
  return counts;
}

/** A run's own figures, from its summary line. */
function figuresOf(summary: Record<string, unknown>): Pick<RunFigures, 'runMs' | 'documents' | 'stepMs' | 'windows'> {
  return {
    runMs: Number(summary.durationMs),
    documents: summary.documents,
    stepMs: JSON.stringify(summary.stepMs ?? null),
    windows: JSON.stringify(summary.windows ?? null),
  };
}

/**
 * `main.ts` with `args` (and `nodeFlags` after production's, and `env` added) as a child process, sampling its memory and CPU (its own,
 * and Cassandra's and Elasticsearch's while it runs). `nextSummary(afterMs)` waits for the summary
 * line of a run that started at or after `afterMs` (epoch ms), and that `accept` takes; `exit()` waits for the process to
 * end, after a SIGTERM when `stop` is set.
 */
function spawnAggregator(options: { args?: readonly string[]; nodeFlags?: readonly string[]; env?: Record<string, string> }): {
  nextSummary: (afterMs: number, accept?: (summary: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
  exit: (stop?: boolean) => Promise<Pick<RunFigures, 'wallMs' | 'peakRssMiB' | 'cpu'> & { code: number | null }>;
} {
  const serverTicks = (): number[] => [servers.cassandra, servers.elasticsearch].map((pid) => (pid ? cpuTicks(pid) : Number.NaN));
  const serversBefore = serverTicks();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=TimeoutNegativeWarning',
      ...childFlags,
      ...(options.nodeFlags ?? []),
      'services/aggregator/src/main.ts',
      ...(options.args ?? []),
    ],
    { env: { ...process.env, ...env, ...options.env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = child.pid ?? 0;
  let peakKiB = 0;
  let childTicks = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      childTicks = Math.max(childTicks, cpuTicks(pid));
    } catch {
      // The process has exited between two samples.
    }
  };
  const sampler = setInterval(sample, 50);
  const summaries: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('aggregation run')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === 'aggregation run finished') summaries.push(parsed);
      else if (parsed.level === 'error' || parsed.level === 50) console.error(line);
    }
    for (const wake of waiters) wake();
  });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let exited = false;
  void closed.then(() => {
    exited = true;
    for (const wake of waiters) wake();
  });
  const startedAt = (summary: Record<string, unknown>): number => Date.parse(String(summary.time)) - Number(summary.durationMs);
  return {
    async nextSummary(afterMs, accept = () => true) {
      for (;;) {
        const found = summaries.find((summary) => startedAt(summary) >= afterMs && accept(summary));
        if (found !== undefined) return found;
        if (exited) throw new Error('the aggregator exited before the run it was waited for');
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        });
      }
    },
    async exit(stop = false) {
      if (stop) child.kill('SIGTERM');
      const code = await closed;
      clearInterval(sampler);
      const wallMs = performance.now() - started;
      const serversAfter = serverTicks();
      const ticks = [childTicks, ...serversAfter.map((t, i) => t - (serversBefore[i] ?? Number.NaN))];
      return {
        code,
        wallMs,
        peakRssMiB: peakKiB / 1024,
        cpu: ticks.map((t) => (Number.isNaN(t) ? 'n/a' : (t / 100).toFixed(1))).join(' / '),
      };
    },
  };
}

/** utime + stime of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return Number.NaN;
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

/** Self time of a V8 CPU profile, summed by where the code lives. */
function summariseProfile(dir: string): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return 'no profile written';
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const categoryOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame;
    const category =
      functionName === '(idle)'
        ? 'idle (waiting for Cassandra/Elasticsearch)'
        : functionName === '(garbage collector)'
          ? 'garbage collector'
          : functionName === '(program)'
            ? 'V8/native (program)'
            : url.includes('cassandra-driver')
              ? 'cassandra-driver (encode/decode rows)'
              : url.includes('@elastic') || url.includes('undici')
                ? 'elasticsearch client'
                : url.includes('packages/metrics')
                  ? '@clickstream/metrics (aggregation)'
                  : url.includes('packages/cassandra')
                    ? '@clickstream/cassandra (repositories)'
                    : url.includes('packages/elasticsearch')
                      ? '@clickstream/elasticsearch (indexer)'
                      : url.includes('services/aggregator')
                        ? 'services/aggregator (run steps)'
                        : url.startsWith('node:')
                          ? 'node internals (net, streams, buffers)'
                          : url === ''
                            ? `unnamed (${functionName || 'anonymous'})`
                            : `other ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url.split('/').slice(-2).join('/')}`;
    categoryOf.set(node.id, category);
  }
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const category = categoryOf.get(id) ?? 'other';
    totals.set(category, (totals.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const all = [...totals.values()].reduce((sum, ms) => sum + ms, 0);
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .filter(([, ms]) => ms >= all / 200)
    .map(([category, ms]) => `${category} ${ms.toFixed(0)}`)
    .join('; ');
}

/** Runs the PySpark job on the exported events and compares its rows with `documents`; null when pyspark is missing. */
function runPyspark(documents: Map<string, string>): number | null {
  if (values['no-pyspark']) return null;
  const check = spawnSync('python3', ['-c', 'import pyspark'], { encoding: 'utf8' });
  if (check.status !== 0) {
    console.log('pyspark: not installed, skipped. Install it with `python3 -m pip install pyspark` (needs Java 17), then run again.');
    return null;
  }
  figure('load average before pyspark', load());
  const output = join(workDir, 'pyspark-out');
  const run = spawnSync(
    'python3',
    ['scripts/bench/pyspark-metrics.py', '--input', join(workDir, 'events.csv'), '--output', output, '--master', 'local[2]'],
    // Spark binds its driver to the host's address; loopback works in a private network namespace too.
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, SPARK_LOCAL_IP: process.env.SPARK_LOCAL_IP ?? '127.0.0.1' } },
  );
  if (run.status !== 0) throw new Error(`pyspark job failed (exit ${run.status}): ${run.stderr.slice(-2_000)}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { session_start_s: number; compute_s: number; rows: number };
  figure(
    'pyspark local[2]: duration without session start',
    `${result.compute_s.toFixed(2)} s (session start ${result.session_start_s.toFixed(2)} s)`,
  );

  // Every PySpark row against the aggregator's document (numbers only: PySpark has no final flag).
  let compared = 0;
  let differences = 0;
  const numbersOf = new Map([...documents].map(([key, value]) => [key, value.slice(0, value.lastIndexOf(','))]));
  for (const file of readdirSync(output).filter((f) => f.startsWith('part-') && f.endsWith('.csv'))) {
    const lines = parseCsv(readFileSync(join(output, file), 'utf8')).slice(1);
    for (const [windowStartMs, url, country, clicks, uniqueUsers, sum, samples, granularity] of lines) {
      const key = JSON.stringify([
        granularity,
        windowStartMs === '' || windowStartMs === undefined ? null : Number(windowStartMs),
        url,
        country,
      ]);
      const expected = JSON.stringify([Number(clicks), Number(uniqueUsers), Number(sum), Number(samples)]).slice(0, -1);
      compared += 1;
      if (numbersOf.get(key) !== expected) differences += 1;
    }
  }
  figure('pyspark rows compared with the aggregator documents (differences)', `${compared} (${differences})`);
  if (compared !== documents.size) figure('WARNING: row count differs from the document count', `${compared} vs ${documents.size}`);
  return result.compute_s;
}

/** RFC 4180 rows (quoted fields, doubled quotes, no newlines inside fields in these files). */
function parseCsv(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const fields: string[] = [];
      let i = 0;
      while (i <= line.length) {
        if (line[i] === '"') {
          let value = '';
          i += 1;
          for (;;) {
            const quote = line.indexOf('"', i);
            value += line.slice(i, quote);
            i = quote + 1;
            if (line[i] === '"') {
              value += '"';
              i += 1;
            } else break;
          }
          fields.push(value);
          i += 1;
        } else {
          const comma = line.indexOf(',', i);
          const end = comma === -1 ? line.length : comma;
          fields.push(line.slice(i, end));
          i = end + 1;
        }
      }
      return fields;
    });
}

/** `count` clicks in the hour from `hourMs`, each to a page of its own (one (url, country) group per click), its path padded to `pathChars`. */
function* distinctPageClicks(count: number, hourMs: number, pathChars: number): Generator<Pick<GeneratedMessage, 'key' | 'value'>> {
  for (let n = 0; n < count; n += 1) {
    const path = `/item/${n}`;
    const userId = `dp-user-${n % 20_000}`;
    const body = {
      event_id: `dp-${n}`,
      user_id: userId,
      timestamp: hourMs + Math.floor((n * HOUR_MS) / count),
      url: path.length < pathChars ? `${path}/${'x'.repeat(pathChars - path.length - 1)}` : path,
      country: 'FR',
    };
    yield { key: userId, value: JSON.stringify(body) };
  }
}
