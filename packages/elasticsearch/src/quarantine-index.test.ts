import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  KEPT_DOCUMENT_CHARS,
  KEPT_KEY_CHARS,
  KEPT_REASON_CHARS,
  leftOutUserRecord,
  quarantineIndexName,
  quarantineRecord,
} from './quarantine-index.ts';
import type { RefusedWrite } from './quarantine-index.ts';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const failure = { id: 'doc-1', status: 400, type: 'document_parsing_exception', reason: 'failed to parse field [country]' };
const refusedIndex = (document: Record<string, unknown>): RefusedWrite => ({
  id: 'doc-1',
  action: 'index',
  document,
  documentJson: JSON.stringify(document),
  failure,
});
const base = { granularity: 'hour', window_start: '2024-01-01T10:00:00.000Z', url: '/a', country: 'FR', clicks: 1 };

const cases: { when: string; refused: RefusedWrite; expect: (record: ReturnType<typeof quarantineRecord>) => void }[] = [
  {
    when: 'a small document is refused, then its window, group, reason and whole document are kept',
    refused: refusedIndex(base),
    expect: (r) => {
      assert.deepEqual(
        [r.document_id, r.action, r.granularity, r.window_start, r.url, r.url_length, r.country, r.country_length],
        ['doc-1', 'index', 'hour', '2024-01-01T10:00:00.000Z', '/a', 2, 'FR', 2],
      );
      assert.deepEqual([r.status, r.error_type, r.reason], [400, 'document_parsing_exception', 'failed to parse field [country]']);
      assert.deepEqual(r.document, base);
      assert.equal(r.document_sha256, createHash('sha256').update(JSON.stringify(base)).digest('hex'));
      assert.equal(r.quarantined_at, '2026-01-02T03:04:05.000Z');
    },
  },
  {
    when: 'the country is immense, then the kept key is cut and its full length recorded',
    refused: refusedIndex({ ...base, country: 'X'.repeat(33_000) }),
    expect: (r) => {
      assert.equal(r.country?.length, KEPT_KEY_CHARS);
      assert.equal(r.country_length, 33_000);
      assert.equal((r.document?.country as string).length, 33_000, 'the document itself is still small enough to keep');
    },
  },
  {
    when: 'the document is larger than what a record keeps, then only its length and hash are kept',
    refused: refusedIndex({ ...base, url: `/${'u'.repeat(KEPT_DOCUMENT_CHARS)}` }),
    expect: (r) => {
      assert.equal(r.document, null);
      assert.equal(r.url_length, KEPT_DOCUMENT_CHARS + 1);
      assert.ok(r.document_chars > KEPT_DOCUMENT_CHARS);
    },
  },
  {
    when: 'the fields are not strings (a broken document), then they are recorded as null, never thrown on',
    refused: refusedIndex({ granularity: 7, window_start: { y: -1 }, url: null }),
    expect: (r) => assert.deepEqual([r.granularity, r.window_start, r.url, r.url_length, r.country], [null, null, null, null, null]),
  },
  {
    when: 'a delete is refused, then the record has its id and reason and no document',
    refused: { id: 'doc-2', action: 'delete', document: null, documentJson: null, failure: { ...failure, reason: 'r'.repeat(10_000) } },
    expect: (r) => {
      assert.deepEqual([r.document_id, r.action, r.document, r.document_chars], ['doc-2', 'delete', null, 0]);
      assert.equal(r.reason.length, KEPT_REASON_CHARS);
    },
  },
];

for (const { when, refused, expect } of cases) test(`when ${when}`, () => expect(quarantineRecord(refused, NOW)));

test('when the alias is named, then the quarantine index lies outside its <alias>-v* template pattern', () => {
  assert.equal(quarantineIndexName('clickstream-metrics'), 'clickstream-metrics-quarantine');
  assert.ok(!quarantineIndexName('clickstream-metrics').startsWith('clickstream-metrics-v'));
});

test('when a user is left out of an hour, then the record names the hour, the user (cut, and whole by hash), the events and the limit', () => {
  const userId = `u"${'中'.repeat(300)}`;
  const record = leftOutUserRecord({ hourMs: Date.UTC(2024, 0, 1, 10), userId, events: 9, limit: 8 }, NOW);
  const hash = createHash('sha256').update(userId, 'utf8').digest('hex');
  assert.deepEqual(
    { ...record, reason: undefined },
    {
      document_id: `left-out/hour/2024-01-01T10:00:00.000Z/${hash}`,
      action: 'left_out',
      granularity: 'hour',
      window_start: '2024-01-01T10:00:00.000Z',
      url: null,
      url_length: null,
      country: null,
      country_length: null,
      status: 413,
      error_type: 'user_over_memory_limit',
      reason: undefined,
      document: null,
      document_chars: 0,
      document_sha256: hash,
      quarantined_at: new Date(NOW).toISOString(),
    },
  );
  assert.ok(record.reason.startsWith(`user ${JSON.stringify(userId.slice(0, 256))} (302 characters) has 9 events`), record.reason);
  assert.match(record.reason, /AGGREGATOR_MAX_EVENTS_IN_MEMORY \(8\)/);
  assert.ok(record.reason.length <= KEPT_REASON_CHARS);
  assert.notEqual(
    leftOutUserRecord({ hourMs: Date.UTC(2024, 0, 1, 11), userId, events: 9, limit: 8 }, NOW).document_id,
    record.document_id,
  );
});
