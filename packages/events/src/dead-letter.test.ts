import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  buildDeadLetter,
  DEAD_LETTER_KEY_MAX_BYTES,
  DEAD_LETTER_MAX_MESSAGE_BYTES,
  DEAD_LETTER_VALUE_MAX_BYTES,
  deadLetterKey,
  serializeDeadLetter,
} from './dead-letter.ts';

const source = {
  topic: 'clicks',
  partition: 2,
  offset: '17',
  reason: 'invalid_json',
  message: 'value is not valid UTF-8',
  at: new Date('2024-05-01T10:00:00Z'),
} as const;

const cases: ReadonlyArray<{ when: string; value: Buffer | null; stored: string | null; encoding: 'utf8' | 'base64' }> = [
  { when: 'the value is valid UTF-8', value: Buffer.from('{"user_id":"ü"'), stored: '{"user_id":"ü"', encoding: 'utf8' },
  { when: 'the value is not valid UTF-8', value: Buffer.from([0xc3, 0x28, 0xff]), stored: 'wyj/', encoding: 'base64' },
  { when: 'the value starts with a byte-order mark', value: Buffer.from('\uFEFFa,b'), stored: '\uFEFFa,b', encoding: 'utf8' },
  { when: 'the message has no value', value: null, stored: null, encoding: 'utf8' },
];

await test('buildDeadLetter', async (t) => {
  for (const { when, value, stored, encoding } of cases) {
    await t.test(`when ${when}, then the record keeps it as ${encoding}`, () => {
      const record = buildDeadLetter({ ...source, value });
      assert.equal(record.value, stored);
      assert.equal(record.encoding, encoding);
      if (value !== null) assert.deepEqual(Buffer.from(stored ?? '', encoding), value);
    });
  }
});

await test('when a record is serialised, then it is JSON with snake_case keys and an ISO failure time', () => {
  const json = serializeDeadLetter(buildDeadLetter({ ...source, value: Buffer.from([0xff]) }));
  assert.deepEqual(JSON.parse(json), {
    value: '/w==',
    encoding: 'base64',
    value_truncated: false,
    value_bytes: 1,
    value_sha256: createHash('sha256')
      .update(Buffer.from([0xff]))
      .digest('hex'),
    key_truncated: false,
    key_bytes: null,
    key_sha256: null,
    source_topic: 'clicks',
    source_partition: 2,
    source_offset: '17',
    reason: 'invalid_json',
    message: 'value is not valid UTF-8',
    failed_at: '2024-05-01T10:00:00.000Z',
  });
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const MIB = 1024 * 1024;

/** Bytes of a dead-letter message on the wire, at most: value, key and the reason header. */
function wireBytes(value: Buffer | null, key: Buffer | null, message = 'x'.repeat(5_000)): number {
  const record = buildDeadLetter({ ...source, value, key, message });
  const sentKey = deadLetterKey(key);
  return Buffer.byteLength(serializeDeadLetter(record)) + (sentKey?.length ?? 0) + 'reason'.length + 32;
}

const oversized: ReadonlyArray<{ when: string; value: Buffer; key?: Buffer; encoding: 'utf8' | 'base64' }> = [
  { when: 'the value is 900 KB of control characters', value: Buffer.alloc(900_000, 0x01), encoding: 'utf8' },
  { when: 'the value is 10 MB of control characters', value: Buffer.alloc(10 * MIB, 0x1f), encoding: 'utf8' },
  { when: 'the value is 10 MB of quotes and backslashes', value: Buffer.alloc(10 * MIB, '"\\'), encoding: 'utf8' },
  { when: 'the value is 10 MB of binary', value: Buffer.alloc(10 * MIB, 0xff), encoding: 'base64' },
  { when: 'the value is 10 MB of 3-byte characters', value: Buffer.from('€'.repeat(3 * MIB)), encoding: 'utf8' },
  { when: 'the value is 10 MB of 4-byte characters', value: Buffer.from('😀'.repeat(2.5 * MIB)), encoding: 'utf8' },
  {
    when: 'the value is 10 MB and the key 70 KiB of control characters',
    value: Buffer.alloc(10 * MIB, 0x00),
    key: Buffer.alloc(70 * 1024, 0x00),
    encoding: 'utf8',
  },
];

await test('dead letters of oversize messages', async (t) => {
  for (const { when, value, key, encoding } of oversized) {
    await t.test(`when ${when}, then the record is cut, marked, and fits ${DEAD_LETTER_MAX_MESSAGE_BYTES} bytes`, () => {
      const record = buildDeadLetter({ ...source, value, key: key ?? null });
      assert.equal(record.valueTruncated, true);
      assert.equal(record.valueBytes, value.length);
      assert.equal(record.valueSha256, sha256(value));
      assert.equal(record.encoding, encoding);
      const carried = Buffer.from(record.value ?? '', encoding);
      assert.ok(carried.length <= DEAD_LETTER_VALUE_MAX_BYTES && carried.length > DEAD_LETTER_VALUE_MAX_BYTES - 4);
      assert.deepEqual(carried, value.subarray(0, carried.length), 'the carried part is the start of the original');
      if (key) {
        assert.equal(record.keyTruncated, true);
        assert.equal(record.keyBytes, key.length);
        assert.equal(record.keySha256, sha256(key));
        assert.equal(deadLetterKey(key)?.length, DEAD_LETTER_KEY_MAX_BYTES);
      }
      assert.ok(wireBytes(value, key ?? null) <= DEAD_LETTER_MAX_MESSAGE_BYTES);
      assert.ok(DEAD_LETTER_MAX_MESSAGE_BYTES < 1_000_000, "well under Kafka's default 1 MB");
    });
  }
});

await test('when the value is exactly the carried maximum, then it is carried whole and not marked', () => {
  const value = Buffer.alloc(DEAD_LETTER_VALUE_MAX_BYTES, 0x07);
  const record = buildDeadLetter({ ...source, value });
  assert.equal(record.valueTruncated, false);
  assert.deepEqual(Buffer.from(record.value ?? '', 'utf8'), value);
});

await test('when a cut would split a character, then the cut moves back to the character boundary', () => {
  // 'ab' then 3-byte characters: 2 + 3 * 21844 = 65534, so the 65536-byte limit falls inside the next one.
  const value = Buffer.from(`ab${'€'.repeat(DEAD_LETTER_VALUE_MAX_BYTES)}`);
  const record = buildDeadLetter({ ...source, value });
  assert.equal(record.encoding, 'utf8');
  assert.equal(record.value, `ab${'€'.repeat(21_844)}`);
});

await test('when the key fits, then the dead-letter message keeps it whole', () => {
  const key = Buffer.alloc(DEAD_LETTER_KEY_MAX_BYTES, 0xfe);
  assert.equal(deadLetterKey(key), key);
  assert.equal(deadLetterKey(null), null);
  assert.equal(buildDeadLetter({ ...source, value: null, key }).keyTruncated, false);
});

await test('when the message is 1 MB of control characters, then the record carries its start only', () => {
  const record = buildDeadLetter({ ...source, value: Buffer.from('x'), message: '\u0001'.repeat(MIB) });
  assert.ok(record.message.length <= 1100);
  assert.ok(wireBytes(Buffer.alloc(10 * MIB, 1), Buffer.alloc(MIB), '\u0001'.repeat(MIB)) <= DEAD_LETTER_MAX_MESSAGE_BYTES);
});
