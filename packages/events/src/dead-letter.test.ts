import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDeadLetter, serializeDeadLetter } from './dead-letter.ts';

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
    source_topic: 'clicks',
    source_partition: 2,
    source_offset: '17',
    reason: 'invalid_json',
    message: 'value is not valid UTF-8',
    failed_at: '2024-05-01T10:00:00.000Z',
  });
});
