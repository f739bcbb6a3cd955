import assert from 'node:assert/strict';
import { test } from 'node:test';
import cassandra from 'cassandra-driver';
import type { CassandraClient } from './cassandra-client.ts';
import { chunkByPartition, createEventsRepository, eventBucket, lastPerKey } from './events-repository.ts';
import { storedClick } from '../../../test/support/stored-click.ts';

const rows = (spec: string): { key: string; bytes: number; n: number }[] =>
  spec.split(' ').map((part, n) => ({ key: part[0] ?? '', bytes: Number(part.slice(1)), n }));
const chunk = (spec: string, maxBytes: number, maxRows: number): string[] =>
  chunkByPartition(
    rows(spec),
    (r) => r.key,
    (r) => r.bytes,
    { maxBytes, maxRows },
  ).map((c) => c.map((r) => `${r.key}${r.n}`).join(','));

const cases: { when: string; spec: string; maxBytes: number; maxRows: number; then: string[] }[] = [
  { when: 'rows of two partitions interleave', spec: 'a1 b1 a1 b1', maxBytes: 100, maxRows: 10, then: ['a0,a2', 'b1,b3'] },
  { when: 'a partition exceeds the byte bound', spec: 'a40 a40 a40', maxBytes: 100, maxRows: 10, then: ['a0,a1', 'a2'] },
  { when: 'a partition exceeds the row bound', spec: 'a1 a1 a1 a1 a1', maxBytes: 100, maxRows: 2, then: ['a0,a1', 'a2,a3', 'a4'] },
  { when: 'one row alone is over the byte bound', spec: 'a500 a1', maxBytes: 100, maxRows: 10, then: ['a0', 'a1'] },
  { when: 'there are no rows', spec: '', maxBytes: 100, maxRows: 10, then: [] },
];

for (const c of cases) {
  test(`when ${c.when}, then the chunks are ${JSON.stringify(c.then)}`, () => {
    const got = c.spec === '' ? chunkByPartition([], String, () => 0, c) : chunk(c.spec, c.maxBytes, c.maxRows);
    assert.deepEqual([...got].sort(), [...c.then].sort());
  });
}

test('when rows are chunked, then every row is in exactly one chunk and each chunk holds one partition', () => {
  const input = Array.from({ length: 1000 }, (_, n) => ({ key: `k${n % 7}`, bytes: (n * 37) % 300, n }));
  const chunks = chunkByPartition(
    input,
    (r) => r.key,
    (r) => r.bytes,
    { maxBytes: 1000, maxRows: 20 },
  );
  assert.deepEqual(
    chunks
      .flat()
      .map((r) => r.n)
      .sort((a, b) => a - b),
    input.map((r) => r.n),
  );
  for (const c of chunks) {
    assert.equal(new Set(c.map((r) => r.key)).size, 1);
    assert.ok(c.length <= 20 && (c.length === 1 || c.reduce((s, r) => s + r.bytes, 0) <= 1000));
  }
});

const lastCases: { when: string; spec: string; last: string; superseded: string }[] = [
  { when: 'every key is given once', spec: 'a1 b2 c3', last: 'a1 b2 c3', superseded: '' },
  { when: 'a key is given twice', spec: 'a1 b2 a3', last: 'b2 a3', superseded: 'a1>a3' },
  { when: 'a key is given three times, apart', spec: 'a1 b2 a3 c4 a5', last: 'b2 c4 a5', superseded: 'a1>a5 a3>a5' },
  { when: 'two keys are each given twice', spec: 'a1 b2 b3 a4', last: 'b3 a4', superseded: 'a1>a4 b2>b3' },
  { when: 'there are no rows', spec: '', last: '', superseded: '' },
];

for (const c of lastCases) {
  test(`when ${c.when}, then the last of each key is kept in order (${c.last || 'none'}) and the others name it`, () => {
    const given = c.spec === '' ? [] : c.spec.split(' ');
    const { last, superseded } = lastPerKey(given, (row) => row[0] ?? '');
    assert.equal(last.join(' '), c.last);
    assert.equal(superseded.map(({ row, by }) => `${row}>${by}`).join(' '), c.superseded);
  });
}

// The bucket is part of the stored rows' partition key: these values may never change, or a replay
// of an event stored before the change would be stored a second time in another partition.
const pinnedBuckets: [eventId: string, bucket: number][] = [
  ['e-1', 2],
  ['click-42', 4],
  ['fp-e98ab960b00f7faa4b55ea42659513084c35f9dd6de4c97dbfd2e4834a7f43f2', 5],
  ['café', 1],
  ['日本', 1],
  ['😀', 0],
];

for (const [eventId, bucket] of pinnedBuckets) {
  test(`when the event id is ${JSON.stringify(eventId)}, then its bucket is ${bucket}, as for every row stored before`, () => {
    assert.equal(eventBucket(eventId), bucket);
  });
}

test('when two versions of a row are left unwritten by an outage, then writing them again stores the later one, not the earlier', async () => {
  // A stand-in driver (the behaviour under test is the repository's order, not Cassandra's): the
  // first write fails as when no host answers, the next ones succeed and are recorded.
  const written: unknown[][] = [];
  let failing = true;
  const write = (params: readonly unknown[][]): Promise<void> => {
    if (failing) return Promise.reject(new cassandra.errors.NoHostAvailableError({}));
    written.push(...params);
    return Promise.resolve();
  };
  const driver = {
    execute: (_query: string, params: unknown[]) => write([params]),
    batch: (statements: { params: unknown[] }[]) => write(statements.map((statement) => statement.params)),
  };
  const repo = createEventsRepository({ driver, keyspace: 'ks', shutdown: () => Promise.resolve() } as unknown as CassandraClient, {
    concurrency: 2,
  });
  const at = Date.UTC(2026, 0, 2, 10);
  const version = (userId: string) => ({
    ...storedClick({
      eventId: 'v-1',
      userId,
      sessionId: null,
      eventTimeMs: at,
      urlKey: '/p',
      country: 'ZZ',
      timeSpentMs: null,
      isBot: false,
    }),
  });
  const first = version('user-first');
  const other = { ...version('user-other'), eventId: 'v-2' };
  const last = version('user-last');
  const outcome = await repo.writeEvents([first, other, last]);
  assert.deepEqual(
    outcome.unwritten.map((e) => e.userId),
    ['user-first', 'user-other', 'user-last'],
    'every row unwritten, in the order given',
  );
  failing = false;
  assert.deepEqual(await repo.writeEvents(outcome.unwritten), { rejected: [], unwritten: [] });
  const USER_ID = 4;
  assert.deepEqual(written.map((params) => params[USER_ID]).sort(), ['user-last', 'user-other']);
});
