import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EnrichedClick } from '@clickstream/events';
import { createEventsRepository, ensureSchema, watchEventsTtl } from './index.ts';
import { eventBucket } from './events-repository.ts';
import type { CassandraClient } from './index.ts';
import { countEventRows, testCassandra } from '../../../test/support/stack-clients.ts';
import { storedClick } from '../../../test/support/stored-click.ts';

const keyspace = `events_repo_${process.pid}`;
let client: CassandraClient;

function click(eventId: string, eventTime = new Date('2026-01-01T10:00:00Z'), userAgent: string | null = null): EnrichedClick {
  const facts = {
    eventId,
    userId: 'u',
    sessionId: null,
    eventTimeMs: eventTime.getTime(),
    urlKey: '/p',
    country: 'ZZ',
    timeSpentMs: null,
    isBot: false,
  };
  return { ...storedClick(facts), userAgent };
}

before(async () => {
  client = await testCassandra(keyspace);
  await ensureSchema(client, { class: 'SimpleStrategy', replicationFactor: 1 });
});
after(async () => {
  await client.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
});

test('when rows of many partitions are written as grouped unlogged batches, then every row is stored once and a rewrite adds none', async () => {
  const repo = createEventsRepository(client, { concurrency: 8, maxBatchBytes: 8_192, maxBatchRows: 20 });
  const rows = Array.from({ length: 2_000 }, (_, i) =>
    click(`e${i}`, new Date(Date.UTC(2026, 0, 1, i % 5, 0, i % 60)), 'Mozilla/5.0 '.repeat(i % 50)),
  );
  assert.deepEqual(await repo.writeEvents(rows), { rejected: [], unwritten: [] });
  assert.deepEqual(await repo.writeEvents(rows.slice(0, 500)), { rejected: [], unwritten: [] });
  assert.equal(await countEventRows(client, keyspace), 2_000);
});

test('when Cassandra refuses rows for their content, then exactly those are rejected with its reason and the rest of their batch is stored', async () => {
  const repo = createEventsRepository(client, { concurrency: 8 });
  const before = await countEventRows(client, keyspace);
  const oversizeKey = `k${'x'.repeat(70 * 1024)}`;
  const rows = [click('ok-1'), click(oversizeKey), click('ok-2'), click('bad-date', new Date(Number.NaN)), click('ok-3')];
  const outcome = await repo.writeEvents(rows);
  assert.deepEqual(outcome.unwritten, []);
  assert.deepEqual(outcome.rejected.map((r) => r.event.eventId.slice(0, 8)).sort(), ['bad-date', oversizeKey.slice(0, 8)].sort());
  for (const r of outcome.rejected) assert.ok(r.message.length > 0);
  console.log(`cassandra refused: ${outcome.rejected.map((r) => r.message.slice(0, 80)).join(' | ')}`);
  assert.equal((await countEventRows(client, keyspace)) - before, 3);
});

test('when one call carries two versions of a row (one event id and time), then the last one given is stored whole, never a mix of both', async () => {
  // Rows of one batch share its write time, and Cassandra keeps the greater value of each column
  // written twice at one time: written together, the two versions stored a row no message carried.
  const repo = createEventsRepository(client, { concurrency: 4 });
  const at = new Date('2026-01-02T10:00:00Z');
  const first = { ...click('versions-1', at), userId: 'user-a', url: '/zzz', urlKey: '/zzz', country: 'US', timeSpentMs: 900 };
  const last = { ...click('versions-1', at), userId: 'user-z', url: '/aaa', urlKey: '/aaa', country: 'DE', timeSpentMs: 100 };
  const others = [click('versions-2', at), click('versions-3', at)];
  const outcome = await repo.writeEvents([first, others[0]!, last, others[1]!]);
  assert.deepEqual(outcome, { rejected: [], unwritten: [] });
  const [stored] = await repo.readEvents(at.getTime(), at.getTime() + 1).then((events) => events.filter((e) => e.eventId === 'versions-1'));
  assert.deepEqual(stored && { userId: stored.userId, urlKey: stored.urlKey, country: stored.country, timeSpentMs: stored.timeSpentMs }, {
    userId: 'user-z',
    urlKey: '/aaa',
    country: 'DE',
    timeSpentMs: 100,
  });
  const url = (
    await client.driver.execute(
      `SELECT url FROM ${keyspace}.events WHERE event_hour = ? AND bucket = ? AND event_time = ? AND event_id = ?`,
      [new Date('2026-01-02T10:00:00Z'), eventBucket('versions-1'), at, 'versions-1'],
      { prepare: true },
    )
  )
    .first()
    ?.get('url') as string | undefined;
  assert.equal(url, '/aaa', 'the raw url of the later version too');
});

test('when the later of two versions of a row is refused for its content, then the earlier one is refused with it, with the same reason', async () => {
  const repo = createEventsRepository(client, { concurrency: 4 });
  const at = new Date('2026-01-02T11:00:00Z');
  const outcome = await repo.writeEvents([
    { ...click('refused-1', at), timeSpentMs: 100 },
    click('refused-2', at),
    { ...click('refused-1', at), timeSpentMs: 2 ** 40 },
  ]);
  assert.deepEqual(outcome.unwritten, []);
  assert.deepEqual(
    outcome.rejected.map((r) => [r.event.eventId, r.event.timeSpentMs]),
    [
      ['refused-1', 2 ** 40],
      ['refused-1', 100],
    ],
  );
  assert.equal(outcome.rejected[0]?.message, outcome.rejected[1]?.message);
  const stored = await repo.readEvents(at.getTime(), at.getTime() + 1);
  assert.deepEqual(
    stored.map((e) => e.eventId),
    ['refused-2'],
  );
});

test('when the events table is missing (its keyspace there), then the write fails as a whole: no row is a dead letter for it', async () => {
  // Cassandra 5 says "table events does not exist" (4.x "unconfigured table"): every row's
  // problem, never one row's content, or ingest would commit a topic's clicks as store_rejected.
  const own = { ...client, keyspace: `${keyspace}_nt` };
  await ensureSchema(own, { class: 'SimpleStrategy', replicationFactor: 1 });
  try {
    await client.driver.execute(`DROP TABLE ${own.keyspace}.events`);
    const repo = createEventsRepository(own, { concurrency: 2 });
    await assert.rejects(repo.writeEvents([click('a'), click('b')]), /events does not exist|unconfigured table/);
  } finally {
    await client.driver.execute(`DROP KEYSPACE IF EXISTS ${own.keyspace}`);
  }
});

test('when events expire by a retention, then one dated ahead of its ingestion lives the retention past its own time, not past its write', async () => {
  // A click may be dated up to 24 h ahead. With the table's TTL alone it would expire 24 h before its
  // hour leaves the retention, and a recompute of that hour in between would lose it.
  const ttlKeyspace = `${keyspace}_ttl`;
  const ttlClient = await testCassandra(ttlKeyspace);
  try {
    await ensureSchema(ttlClient, { class: 'SimpleStrategy', replicationFactor: 1 }, { eventsTtlSeconds: 3_600 });
    const watch = await watchEventsTtl(ttlClient, { intervalMs: 60_000 });
    try {
      assert.equal(watch.seconds(), 3_600);
      const repo = createEventsRepository(ttlClient, { concurrency: 4, eventsTtlSeconds: () => watch.seconds() });
      const nowMs = Date.now();
      const ahead = { ...click('ahead', new Date(nowMs + 2 * 3_600_000)), ingestedAt: new Date(nowMs) };
      const past = { ...click('past', new Date(nowMs - 3_600_000)), ingestedAt: new Date(nowMs) };
      assert.deepEqual(await repo.writeEvents([ahead, past]), { rejected: [], unwritten: [] });
      const ttls = new Map(
        (await ttlClient.driver.execute(`SELECT event_id, TTL(user_id) AS ttl FROM ${ttlKeyspace}.events ALLOW FILTERING`)).rows.map(
          (row) => [row.get('event_id') as string, row.get('ttl') as number],
        ),
      );
      const near = (actual: number | undefined, expected: number): boolean => actual !== undefined && Math.abs(actual - expected) <= 30;
      assert.ok(near(ttls.get('ahead'), 3_600 + 7_200), `the retention plus the 2 h it is ahead: ${String(ttls.get('ahead'))}`);
      assert.ok(near(ttls.get('past'), 3_600), `the table's retention: ${String(ttls.get('past'))}`);
    } finally {
      watch.stop();
    }
  } finally {
    await ttlClient.driver.execute(`DROP KEYSPACE IF EXISTS ${ttlKeyspace}`);
    await ttlClient.shutdown();
  }
});
