import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createEventsRepository, createPendingHoursRepository, ensureSchema } from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient, installMetricsIndex } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { pollUntil, removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { storedClick } from '../../../test/support/stored-click.ts';

const suffix = uniqueSuffix();
const keyspace = `agg_main_${suffix}`;
const alias = `it-agg-main-${suffix}`;
const env = {
  ...stackEnv,
  CASSANDRA_KEYSPACE: keyspace,
  ELASTICSEARCH_INDEX: alias,
  HTTP_PORT: '0',
  AGGREGATOR_RETRY_ATTEMPTS: '2',
  AGGREGATOR_RETRY_INITIAL_DELAY_MS: '20',
};
let cassandra: CassandraClient;
let es: ElasticsearchClient;

interface Running {
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `npm run aggregator` as a child process (as an operator would), collecting its JSON log lines. */
function startProcess(extraEnv: Record<string, string>, args: string[] = []): Running {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/aggregator/src/main.ts', ...args], {
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const complete = stdout.split('\n');
    stdout = complete.pop() ?? '';
    for (const line of complete) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close', not 'exit': the last log lines may still be in the pipe when the process exits.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { lines, stderr: () => stderr, exited, kill: (signal) => child.kill(signal) };
}

before(async () => {
  cassandra = await testCassandra(keyspace);
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
});
after(async () => {
  await removeTestStores({ es, alias, cassandra, keyspace });
});

describe('npm run aggregator', { concurrency: false }, () => {
  for (const value of ['soon', '99999999999', '1000']) {
    test(`when a variable is wrong (${value}), then it exits 1 with one JSON log line naming the variable`, async () => {
      const run = startProcess({ AGGREGATOR_LEASE_TTL_MS: value }, ['--once']);
      assert.equal(await run.exited, 1);
      assert.equal(run.lines.length, 1, run.stderr());
      assert.equal(run.lines[0]?.level, 'fatal');
      assert.equal(run.lines[0]?.service, 'aggregator');
      assert.deepEqual(run.lines[0]?.variables, ['AGGREGATOR_LEASE_TTL_MS']);
    });
  }

  test('when an argument is unknown (a typo of --once), then it exits 2 with the usage instead of starting the service', async () => {
    const run = startProcess({}, ['--onc']);
    assert.equal(await run.exited, 2);
    assert.match(run.stderr(), /--onc/);
    assert.match(run.stderr(), /usage/i);
  });

  test('when run with --once, then it does one pass, logs one line with windows, documents and duration, and exits 0', async () => {
    const run = startProcess({}, ['--once']);
    assert.equal(await run.exited, 0, run.stderr());
    const summaries = run.lines.filter((l) => l.msg === 'aggregation run finished');
    assert.equal(summaries.length, 1);
    assert.deepEqual(
      Object.keys(summaries[0] ?? {})
        .filter((k) => ['windows', 'documents', 'durationMs', 'outcome'].includes(k))
        .sort(),
      ['documents', 'durationMs', 'outcome', 'windows'],
    );
    assert.ok(run.lines.every((l) => l.service === 'aggregator' && typeof l.level === 'string' && typeof l.time === 'string'));
  });

  test('when run with --once beside a running aggregator (its HTTP_PORT taken), then it still does its pass and exits 0', async () => {
    // As `kubectl exec` or `docker compose exec` run it: the service in the same container holds HTTP_PORT.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    try {
      const run = startProcess({ HTTP_PORT: String((holder.address() as AddressInfo).port) }, ['--once']);
      assert.equal(await run.exited, 0, JSON.stringify(run.lines.filter((l) => l.level === 'fatal')));
      assert.equal(run.lines.filter((l) => l.msg === 'aggregation run finished').length, 1);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test('when Elasticsearch refuses the writes of a --once pass, then it logs the failure and exits non-zero, keeping the markers', async () => {
    await ensureSchema(cassandra, { class: 'SimpleStrategy', replicationFactor: 1 });
    const hourMs = Date.UTC(2024, 4, 1, 10);
    await createEventsRepository(cassandra, { concurrency: 4 }).writeEvents([
      storedClick({
        eventId: 'e1',
        userId: 'u1',
        sessionId: 's1',
        eventTimeMs: hourMs + 60_000,
        urlKey: '/a',
        country: 'FR',
        timeSpentMs: 1_000,
        isBot: false,
      }),
    ]);
    const pending = createPendingHoursRepository(cassandra);
    await pending.mark([hourMs]);
    const { index } = await installMetricsIndex(es, { alias, shards: 1, replicas: 0 });
    await es.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const run = startProcess({}, ['--once']);
      assert.equal(await run.exited, 1);
      assert.ok(
        run.lines.some(
          (l) => l.msg === 'aggregation run failed; its markers stay for the next run' && l.level === 'error' && l.outcome === 'failure',
        ),
      );
    } finally {
      await es.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
    }
    assert.equal((await pending.pending()).hours.length, 1);
  });

  test('when scheduled, then it runs on the schedule, answers /healthz, /readyz and /metrics, and stops cleanly on SIGTERM', async () => {
    const run = startProcess({ AGGREGATOR_SCHEDULE: '* * * * * *' });
    try {
      const listening = await pollUntil(
        () => Promise.resolve(run.lines.find((l) => typeof l.port === 'number')),
        (l) => l !== undefined,
        60_000,
        100,
      );
      const base = `http://127.0.0.1:${String(listening?.port)}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await pollUntil(
        () => fetch(`${base}/readyz`).then((r) => r.status),
        (status) => status === 200,
        60_000,
        200,
      );
      assert.equal(ready, 200);
      const metrics = await pollUntil(
        () => fetch(`${base}/metrics`).then((r) => r.text()),
        (text) => /aggregator_runs_total\{[^}]*outcome="success"[^}]*\} [1-9]/.test(text),
        60_000,
        250,
      );
      assert.match(metrics, /aggregator_run_duration_seconds_count\{[^}]*outcome="success"/);
      assert.match(metrics, /aggregator_documents_written_total/);
      assert.match(metrics, /aggregator_pending_hours/);
      assert.equal((await createPendingHoursRepository(cassandra).pending()).hours.length, 0, 'the scheduled run did the pending hour');
    } finally {
      run.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0, run.stderr());
    assert.ok(run.lines.some((l) => l.msg === 'stopped'));
  });
});
