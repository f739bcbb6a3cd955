/**
 * Ingest's runtime on real Kafka and Cassandra: a consumer group that rebalances mid-run, a
 * Cassandra connection that drops or stalls (through a TCP proxy of this test's own), and a
 * SIGKILL while several batches are in flight. In each: the service never exits by itself, and
 * every row is present exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClickGenerator } from '@clickstream/clickgen';
import type { GeneratedMessage } from '@clickstream/clickgen';
import type { CassandraClient } from '@clickstream/cassandra';
import { createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
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
import type { IngestService } from './main.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';

const HOUR_MS = 3_600_000;
const suffix = uniqueSuffix();
const topics: string[] = [];
const keyspaces: string[] = [];
let kafka: KafkaClient;

function envFor(topic: string, keyspace: string, extra: Record<string, string> = {}): Record<string, string> {
  return ingestTestEnv({
    topic,
    keyspace,
    // Several small batches per partition in flight at once.
    extra: { INGEST_FETCH_MAX_BYTES_PER_PARTITION: '65536', INGEST_PARTITIONS_CONCURRENTLY: '6', INGEST_BATCHES_IN_FLIGHT: '6', ...extra },
  });
}

/** A 6-partition topic holding `count` valid clicks (the first `share` of them now, the rest through `produceRest`); the topic, a fresh keyspace, the expected ids. */
async function scenario(
  name: string,
  seed: number,
  count: number,
  share = 1,
): Promise<{ topic: string; keyspace: string; expected: Set<string>; produceRest: (upTo: number) => Promise<void> }> {
  const topic = `rt-${name}-${suffix}`;
  const keyspace = `rt_${name}_${suffix}`;
  topics.push(topic, `${topic}-dlq`);
  keyspaces.push(keyspace);
  await ensureTopics(kafka, [
    { topic, partitions: 6 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
  const now = Date.now();
  const messages: GeneratedMessage[] = [
    ...createClickGenerator({ seed, count, startMs: now - 6 * HOUR_MS, spanMs: 6 * HOUR_MS, invalidRatio: 0, nowMs: now }),
  ];
  let sent = 0;
  /** Produces the messages up to the share `upTo` (0..1) of all. */
  const produceRest = async (upTo: number): Promise<void> => {
    const end = Math.round(messages.length * upTo);
    const producer = await createMessageProducer(kafka);
    for (; sent < end; sent = Math.min(end, sent + 2_000)) await producer.send(topic, messages.slice(sent, Math.min(end, sent + 2_000)));
    await producer.disconnect();
  };
  await produceRest(share);
  return { topic, keyspace, expected: new Set(messages.flatMap((m) => (m.kind === 'valid' ? [m.event.eventId] : []))), produceRest };
}

/** Rows expected / present / duplicated (rows minus distinct ids: the table key makes it 0 unless ids collide) / missing. */
async function verify(cassandra: CassandraClient, keyspace: string, expected: Set<string>): Promise<{ present: number; missing: number }> {
  const rows = (await cassandra.driver.execute(`SELECT event_id FROM ${keyspace}.events`, [], { prepare: false, fetchSize: 200_000 })).rows;
  const ids = rows.map((r) => r.get('event_id') as string);
  const distinct = new Set(ids);
  const missing = [...expected].filter((id) => !distinct.has(id)).length;
  console.log(`rows expected ${expected.size}, present ${ids.length}, duplicated ${ids.length - distinct.size}, missing ${missing}`);
  assert.equal(ids.length, distinct.size);
  return { present: ids.length, missing };
}

/** Fails the test if the service stops by itself (a fatal exit) before `stop()` is called. */
function mustKeepRunning(service: IngestService, name: string): { stop: () => Promise<void> } {
  let stopping = false;
  void service.stopped.then((code) => {
    if (!stopping) assert.fail(`${name} exited by itself with code ${code}`);
  });
  return {
    stop: async () => {
      stopping = true;
      await service.stop();
      assert.equal(await service.stopped, 0, `${name} stopped cleanly`);
    },
  };
}

before(() => {
  kafka = testKafka();
});
after(async () => {
  await deleteTopics(kafka, topics);
  const cassandra = await testCassandra('system');
  for (const ks of keyspaces) await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${ks}`);
  await cassandra.shutdown();
  // Known issue: after the fault test some client handle (the driver reconnecting to the closed
  // proxy, it seems) can keep this file's process alive; every result is reported by now.
  setTimeout(() => process.exit(), 10_000).unref();
});

describe('ingest runtime against real Kafka and Cassandra', { concurrency: false }, () => {
  test('when a second ingest joins the group and the first leaves mid-run, then neither exits and every row is present once', async () => {
    // A third of the clicks before each membership change, so every member has work after it.
    const { topic, keyspace, expected, produceRest } = await scenario('rebalance', 21, 24_000, 1 / 3);
    const cassandra = await testCassandra(keyspace);
    const first = await startIngest(envFor(topic, keyspace), testLogger);
    const a = mustKeepRunning(first, 'first ingest');
    let b: { stop: () => Promise<void> } | undefined;
    try {
      await pollUntil(
        () => countEventRows(cassandra, keyspace).catch(() => 0),
        (n) => n >= 3_000,
        120_000,
        200,
      );
      const second = await startIngest(envFor(topic, keyspace), testLogger);
      b = mustKeepRunning(second, 'second ingest');
      await produceRest(2 / 3);
      await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= 10_000,
        180_000,
        200,
      );
      // The first one leaves: a second rebalance; the rest arrives while the group settles.
      await Promise.all([a.stop(), produceRest(1)]);
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= expected.size,
        180_000,
      );
      assert.equal(rows, expected.size);
      assert.deepEqual(await verify(cassandra, keyspace, expected), { present: expected.size, missing: 0 });
    } finally {
      await Promise.allSettled([a.stop(), b?.stop()]);
      await cassandra.shutdown();
    }
  });

  test('when the Cassandra connection drops and later stalls mid-run, then ingest retries, /readyz turns 503 on the stall (how soon is printed), and every row is present once', async () => {
    const { topic, keyspace, expected } = await scenario('storefault', 22, 15_000);
    const cassandra = await testCassandra(keyspace);
    const [host = '127.0.0.1', port = '9042'] = (stackEnv.CASSANDRA_CONTACT_POINTS.split(',')[0] ?? '').split(':');
    const proxy = await startTcpProxy({ host, port: Number(port) });
    const service = await startIngest(
      envFor(topic, keyspace, {
        CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}`,
        INGEST_STORE_STALL_MS: '3000',
        // The retry budget must outlast the outage plus the driver's way back: a reconnection tried
        // while the proxy drops connections can hang in its handshake for the driver's 12 s read
        // timeout. The default 8 attempts wait 11.3-22.6 s in all (jittered), which made this test
        // fail now and then; 12 attempts wait at least 36 s.
        INGEST_RETRY_ATTEMPTS: '12',
      }),
      testLogger,
    );
    const running = mustKeepRunning(service, 'ingest');
    const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${service.httpPort}/readyz`)).status;
    try {
      await pollUntil(
        () => countEventRows(cassandra, keyspace).catch(() => 0),
        (n) => n >= 2_000,
        120_000,
        200,
      );
      // Every connection dropped ("Socket was closed") and refused for 4 s.
      proxy.cut();
      await sleep(4_000);
      proxy.restore();
      const afterDrop = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= 6_000,
        120_000,
        200,
      );
      assert.ok(afterDrop < expected.size, 'still mid-run when the store stalls');
      // Connections stay open but nothing comes back: a stall, not an error.
      proxy.stall();
      const stalledAt = Date.now();
      const status = await pollUntil(readyz, (s) => s === 503, 10_000, 100);
      const tookMs = Date.now() - stalledAt;
      console.log(`/readyz answered ${status} ${tookMs} ms after the store stalled`);
      // How soon is printed, not asserted (a loaded machine's timers): the 5 s bound is the probe's design, unit-tested with a fake clock.
      assert.equal(status, 503);
      await sleep(2_000);
      proxy.unstall();
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= expected.size,
        180_000,
      );
      assert.equal(rows, expected.size);
      assert.equal(await pollUntil(readyz, (s) => s === 200, 30_000, 200), 200, 'ready again once the store answers');
      assert.deepEqual(await verify(cassandra, keyspace, expected), { present: expected.size, missing: 0 });
    } finally {
      await running.stop();
      await proxy.close();
      await cassandra.shutdown();
    }
  });

  test('when ingest is killed with SIGKILL while several batches are in flight, then after a restart every row is present, none duplicated', async () => {
    const { topic, keyspace, expected } = await scenario('kill', 23, 30_000);
    const cassandra = await testCassandra(keyspace);
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/ingest/src/main.ts'], {
        env: { ...process.env, ...envFor(topic, keyspace) },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    const first = start();
    const partial = await pollUntil(
      () => countEventRows(cassandra, keyspace).catch(() => 0),
      (n) => n > 4_000,
      120_000,
      100,
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(partial < expected.size, `killed mid-stream (${partial} of ${expected.size} rows written)`);
    const second = start();
    let exitedEarly: number | null = null;
    second.once('exit', (code) => (exitedEarly ??= code));
    try {
      const rows = await pollUntil(
        () => countEventRows(cassandra, keyspace),
        (n) => n >= expected.size || exitedEarly !== null,
        180_000,
      );
      assert.equal(exitedEarly, null, 'the restarted ingest keeps running');
      assert.equal(rows, expected.size);
    } finally {
      second.kill('SIGTERM');
      const code = await new Promise((resolve) => (second.exitCode !== null ? resolve(second.exitCode) : second.once('exit', resolve)));
      assert.equal(code, 0, 'a SIGTERM shutdown exits 0');
    }
    console.log(`killed at ${partial} of ${expected.size} rows`);
    assert.deepEqual(await verify(cassandra, keyspace, expected), { present: expected.size, missing: 0 });
    await cassandra.shutdown();
  });
});
