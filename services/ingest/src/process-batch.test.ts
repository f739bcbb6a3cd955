import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEnricher, createGeoLookup, createUserAgentParser } from '@clickstream/enrichment';
import { DEAD_LETTER_KEY_MAX_BYTES, DEAD_LETTER_MAX_MESSAGE_BYTES } from '@clickstream/events';
import type { ClickMessage } from '@clickstream/events';
import { createBatchProcessor } from './process-batch.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const process = createBatchProcessor({
  enrich: createEnricher({ geo: createGeoLookup(), userAgents: createUserAgentParser({ cacheSize: 10 }), ipPolicy: 'truncated' }),
  now: () => NOW,
});

let offset = 0;
function message(value: string | Buffer | object, key: string | Buffer | null = null): ClickMessage {
  offset += 1;
  return {
    value: Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    key: key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
    topic: 'clicks',
    partition: 0,
    offset: String(offset),
  };
}

const click = (fields: object = {}) => ({ user_id: 'u1', timestamp: '2024-05-01T10:00:00Z', url: '/a', ...fields });

await test('when a batch mixes valid clicks, unsound hints and hostile values, then each lands where the contract says', () => {
  const messages = [
    message(click({ country: 'Atlantis', city: 'x'.repeat(200) }), 'u1'),
    message(click({ timestamp: '2024-05-01T10:00:01Z', country: 'Germany', ip: '::ffff:9.9.9.9' }), 'u1'),
    message(click({ timestamp: -8_640_000_000_000_000 }), 'u1'),
    message(Buffer.alloc(10 * 1024 * 1024, 0x01), Buffer.alloc(70 * 1024, 0x6b)),
    message(click({ user_id: '\u0000' })),
    message(click({ timestamp: '2024-05-01T10:00:02Z', device: 7 }), 'u2'),
  ];
  const batch = process(messages);
  assert.deepEqual(
    batch.rows.map((r) => [r.country, r.city, r.ip]),
    [
      ['ZZ', null, null],
      ['DE', null, '9.9.9.0'],
      ['ZZ', null, null],
    ],
  );
  assert.deepEqual(
    batch.sources.map((m) => m.offset),
    [messages[0], messages[1], messages[5]].map((m) => m?.offset),
  );
  assert.deepEqual(batch.ignoredHints, { country: 1, city: 1, device: 1 });
  assert.deepEqual(
    batch.deadLetters.map((d) => [d.offset, d.reason]),
    [
      [messages[2]?.offset, 'timestamp_out_of_range'],
      [messages[3]?.offset, 'too_large'],
      [messages[4]?.offset, 'invalid_value'],
    ],
  );
  const huge = batch.deadLetters[1];
  assert.ok(huge !== undefined);
  assert.equal(huge.key?.length, DEAD_LETTER_KEY_MAX_BYTES);
  assert.ok(Buffer.byteLength(huge.value) + (huge.key?.length ?? 0) < DEAD_LETTER_MAX_MESSAGE_BYTES);
  const record = JSON.parse(huge.value) as Record<string, unknown>;
  assert.deepEqual(
    [record.value_truncated, record.value_bytes, record.key_truncated, record.key_bytes],
    [true, 10 * 1024 * 1024, true, 70 * 1024],
  );
  assert.equal(batch.rows.length + batch.deadLetters.length, messages.length);
});

await test('when the same id-less click arrives twice in a batch under different keys, then both rows have one id', () => {
  const batch = process([message(click(), 'k1'), message(click(), Buffer.from([0xff]))]);
  assert.equal(batch.rows.length, 2);
  assert.equal(batch.rows[0]?.eventId, batch.rows[1]?.eventId);
  assert.match(batch.rows[0]?.eventId ?? '', /^fp-[0-9a-f]{64}$/);
});

await test('when a batch is all valid and hints are sound, then nothing is counted as ignored', () => {
  const batch = process([message(click({ country: 'us', city: 'Boston', os: 'iOS' }))]);
  assert.deepEqual(batch.ignoredHints, {});
  assert.deepEqual(batch.deadLetters, []);
  assert.equal(batch.rows[0]?.country, 'US');
});
