import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ClickEvent } from './click-event.ts';
import { decodeClickMessage, MAX_MESSAGE_BYTES } from './decode-message.ts';
import { INVALID_REASONS, type InvalidReason } from './invalid-reason.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const DAY_MS = 24 * 60 * 60 * 1000;
const MINIMAL = { user_id: 'u1', timestamp: '2024-05-01T10:00:00Z', url: 'https://example.com/a' };

function decode(value: Buffer | string | object | null, key: string | null = null) {
  const bytes = value === null || Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return decodeClickMessage(
    { value: bytes, key: key === null ? null : Buffer.from(key), topic: 'clicks', partition: 3, offset: '42' },
    NOW,
  );
}

function decodeEvent(value: Buffer | string | object, key: string | null = null): ClickEvent {
  const result = decode(value, key);
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
  return result.event;
}

/** The documented canonical form, computed here independently of the implementation. */
const fingerprint = (...parts: (string | number)[]) => `fp-${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;

const show = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

const NO_EXTRAS = {
  sessionId: null,
  ip: null,
  userAgent: null,
  referrer: null,
  timeSpentMs: null,
  country: null,
  region: null,
  city: null,
  browser: null,
  os: null,
  device: null,
};

const seeds: ReadonlyArray<{ when: string; value: string; key: string | null; event: ClickEvent }> = [
  {
    when: 'a JSON seed carries pre-enriched geo and user agent',
    value:
      '{"click_id":"c1","user_id":"u1","timestamp":"2024-05-01T10:00:00Z","url":"https://Shop.example.com:443/p/1/?q=1#x","country":"us","city":"Boston","browser":"Chrome","operating_system":"Windows","device":"desktop"}',
    key: 'u1',
    event: {
      ...NO_EXTRAS,
      eventId: 'c1',
      userId: 'u1',
      eventTime: new Date('2024-05-01T10:00:00Z'),
      url: 'https://Shop.example.com:443/p/1/?q=1#x',
      urlKey: 'https://shop.example.com/p/1',
      country: 'US',
      city: 'Boston',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
    },
  },
  {
    when: 'a JSON seed carries ip, user agent and seconds spent, without id or key',
    value:
      '{"UserID":"u2","Timestamp":1714557600000,"URL":"/home/","ip_address":"8.8.8.8","ua":"Mozilla/5.0 (X11; Linux x86_64)","time_spent":12.5}',
    key: null,
    event: {
      ...NO_EXTRAS,
      eventId: fingerprint('u2', 1714557600000, '/home/'),
      userId: 'u2',
      eventTime: new Date('2024-05-01T10:00:00Z'),
      url: '/home/',
      urlKey: '/home',
      ip: '8.8.8.8',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      timeSpentMs: 12500,
    },
  },
  {
    when: 'a CSV seed line is sent',
    value: 'c9,u9,2024-05-01 10:00:00,https://example.com/a,US,Boston,Chrome,Windows,desktop\n',
    key: null,
    event: {
      ...NO_EXTRAS,
      eventId: 'c9',
      userId: 'u9',
      eventTime: new Date('2024-05-01T10:00:00Z'),
      url: 'https://example.com/a',
      urlKey: 'https://example.com/a',
      country: 'US',
      city: 'Boston',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
    },
  },
];

await test('decodeClickMessage: seed shapes', async (t) => {
  for (const { when, value, key, event } of seeds) {
    await t.test(`when ${when}, then it decodes to the normalised event`, () => {
      assert.deepEqual(decodeEvent(value, key), event);
    });
  }
});

await test('when the contract names are used for every field, then each lands in the event', () => {
  const event = decodeEvent({
    ...MINIMAL,
    event_id: 'e1',
    session_id: 's1',
    ip: '2001:db8::1',
    user_agent: 'ua',
    referrer: 'https://ref.example/',
    time_spent_ms: 1500,
    country: 'Deutschland',
    region: 'BE',
    city: 'Berlin',
    browser: 'Firefox',
    os: 'Linux',
    device: 'mobile',
  });
  assert.deepEqual(event, {
    eventId: 'e1',
    userId: 'u1',
    sessionId: 's1',
    eventTime: new Date('2024-05-01T10:00:00Z'),
    url: 'https://example.com/a',
    urlKey: 'https://example.com/a',
    ip: '2001:db8::1',
    userAgent: 'ua',
    referrer: 'https://ref.example/',
    timeSpentMs: 1500,
    country: 'DE',
    region: 'BE',
    city: 'Berlin',
    browser: 'Firefox',
    os: 'Linux',
    device: 'mobile',
  });
});

const aliases: ReadonlyArray<{
  alias: string;
  replaces: keyof typeof MINIMAL | null;
  value: unknown;
  field: keyof ClickEvent;
  expected: unknown;
}> = [
  { alias: 'click_id', replaces: null, value: 'c1', field: 'eventId', expected: 'c1' },
  { alias: 'row_key', replaces: null, value: 'r1', field: 'eventId', expected: 'r1' },
  { alias: 'UserID', replaces: 'user_id', value: 'u7', field: 'userId', expected: 'u7' },
  { alias: 'Timestamp', replaces: 'timestamp', value: 1714557600000, field: 'eventTime', expected: new Date('2024-05-01T10:00:00Z') },
  {
    alias: 'event_time',
    replaces: 'timestamp',
    value: '2024-05-01 09:00:00',
    field: 'eventTime',
    expected: new Date('2024-05-01T09:00:00Z'),
  },
  { alias: 'URL', replaces: 'url', value: '/b/', field: 'urlKey', expected: '/b' },
  { alias: 'page_url', replaces: 'url', value: 'https://example.com/c', field: 'url', expected: 'https://example.com/c' },
  { alias: 'ip_address', replaces: null, value: '1.2.3.4', field: 'ip', expected: '1.2.3.4' },
  { alias: 'ua', replaces: null, value: 'Mozilla/5.0', field: 'userAgent', expected: 'Mozilla/5.0' },
  { alias: 'referer', replaces: null, value: 'https://ref.example/', field: 'referrer', expected: 'https://ref.example/' },
  { alias: 'time_spent', replaces: null, value: 1.2345, field: 'timeSpentMs', expected: 1235 },
  { alias: 'operating_system', replaces: null, value: 'macOS', field: 'os', expected: 'macOS' },
];

await test('decodeClickMessage: aliases', async (t) => {
  for (const { alias, replaces, value, field, expected } of aliases) {
    await t.test(`when ${alias} is sent, then it fills ${field}`, () => {
      const fields: Record<string, unknown> = { ...MINIMAL, [alias]: value };
      if (replaces !== null) delete fields[replaces];
      assert.deepEqual(decodeEvent(fields)[field], expected);
    });
  }
});

const precedence: ReadonlyArray<{ when: string; fields: object; field: keyof ClickEvent; expected: unknown }> = [
  { when: 'event_id and click_id are both sent', fields: { event_id: 'e', click_id: 'c', row_key: 'r' }, field: 'eventId', expected: 'e' },
  { when: 'click_id and row_key are both sent', fields: { click_id: 'c', row_key: 'r' }, field: 'eventId', expected: 'c' },
  { when: 'user_id and UserID are both sent', fields: { UserID: 'other' }, field: 'userId', expected: 'u1' },
  {
    when: 'time_spent_ms and time_spent are both sent',
    fields: { time_spent_ms: 100, time_spent: 5 },
    field: 'timeSpentMs',
    expected: 100,
  },
  {
    when: 'time_spent_ms is valid and time_spent is not',
    fields: { time_spent_ms: 100, time_spent: 'x' },
    field: 'timeSpentMs',
    expected: 100,
  },
  { when: 'os and operating_system are both sent', fields: { os: 'Linux', operating_system: 'Windows' }, field: 'os', expected: 'Linux' },
  { when: 'event_id is empty and click_id is set', fields: { event_id: '', click_id: 'c' }, field: 'eventId', expected: 'c' },
];

await test('decodeClickMessage: contract names win', async (t) => {
  for (const { when, fields, field, expected } of precedence) {
    await t.test(`when ${when}, then ${field} is ${show(expected)}`, () => {
      assert.deepEqual(decodeEvent({ ...MINIMAL, ...fields })[field], expected);
    });
  }
});

const normalisation: ReadonlyArray<{ when: string; fields: object; field: keyof ClickEvent; expected: unknown }> = [
  { when: 'a 2-letter country is lower-case', fields: { country: 'de' }, field: 'country', expected: 'DE' },
  { when: 'a country is an English name', fields: { country: 'Germany' }, field: 'country', expected: 'DE' },
  { when: 'an optional field is an empty string', fields: { session_id: '' }, field: 'sessionId', expected: null },
  { when: 'an optional field is null', fields: { ip: null }, field: 'ip', expected: null },
  { when: 'time_spent is 86400 seconds', fields: { time_spent: 86_400 }, field: 'timeSpentMs', expected: 86_400_000 },
  { when: 'time_spent_ms is 0', fields: { time_spent_ms: 0 }, field: 'timeSpentMs', expected: 0 },
  {
    when: 'the timestamp is exactly 24 h after ingest',
    fields: { timestamp: NOW.getTime() + DAY_MS },
    field: 'eventTime',
    expected: new Date(NOW.getTime() + DAY_MS),
  },
  {
    when: 'the timestamp is a string of epoch milliseconds',
    fields: { timestamp: '1714557600000' },
    field: 'eventTime',
    expected: new Date('2024-05-01T10:00:00Z'),
  },
];

await test('decodeClickMessage: normalisation', async (t) => {
  for (const { when, fields, field, expected } of normalisation) {
    await t.test(`when ${when}, then ${field} is ${show(expected)}`, () => {
      assert.deepEqual(decodeEvent({ ...MINIMAL, ...fields })[field], expected);
    });
  }
});

await test('when unknown fields are sent, then the event has only contract fields', () => {
  assert.deepEqual(decodeEvent({ ...MINIMAL, extra: 1, nested: { a: 1 } }), decodeEvent(MINIMAL));
});

const MINIMAL_FP = fingerprint('u1', Date.parse(MINIMAL.timestamp), MINIMAL.url);

const eventIds: ReadonlyArray<{ when: string; fields: object; key: string | null; eventId: string }> = [
  { when: 'the value has an event id and the message a key', fields: { event_id: 'e1' }, key: 'u1', eventId: 'e1' },
  { when: 'the value has no event id and the message has a key', fields: {}, key: 'user-7', eventId: MINIMAL_FP },
  { when: 'the value has no event id and the key is empty', fields: {}, key: '', eventId: MINIMAL_FP },
  { when: 'the value has no event id and the message no key', fields: {}, key: null, eventId: MINIMAL_FP },
  {
    when: 'the timestamp is the same instant in epoch ms',
    fields: { timestamp: Date.parse(MINIMAL.timestamp) },
    key: null,
    eventId: MINIMAL_FP,
  },
  {
    when: 'the click has a session id',
    fields: { session_id: 's1' },
    key: null,
    eventId: fingerprint('u1', Date.parse(MINIMAL.timestamp), MINIMAL.url, 's1'),
  },
  {
    when: 'the url has credentials',
    fields: { url: 'https://me:secret@example.com/a' },
    key: null,
    eventId: MINIMAL_FP,
  },
  { when: 'an empty event_id is sent', fields: { event_id: '' }, key: 'k', eventId: MINIMAL_FP },
];

await test('decodeClickMessage: event id fallback', async (t) => {
  for (const { when, fields, key, eventId } of eventIds) {
    await t.test(`when ${when}, then the event id is ${eventId}`, () => {
      assert.equal(decodeEvent({ ...MINIMAL, ...fields }, key).eventId, eventId);
    });
  }
});

const padded = (bytes: number) => {
  const json = JSON.stringify({ ...MINIMAL, pad: '' });
  return json.replace('"pad":""', `"pad":"${'x'.repeat(bytes - json.length)}"`);
};

await test('when the value is exactly 64 KiB, then it is accepted', () => {
  assert.equal(decode(padded(MAX_MESSAGE_BYTES)).ok, true);
});

const long = (length: number) => 'x'.repeat(length);

const rejections: ReadonlyArray<{ when: string; value: Buffer | string | object | null; reason: InvalidReason; mentions: string }> = [
  { when: 'the value is not JSON and not 9 CSV fields', value: 'hello, world', reason: 'invalid_json', mentions: 'value' },
  { when: 'the value is truncated JSON', value: '{"user_id":"u1"', reason: 'invalid_json', mentions: 'value' },
  { when: 'the value is a JSON array', value: '[1,2]', reason: 'invalid_json', mentions: 'array' },
  { when: 'the value is a JSON string', value: '"u1"', reason: 'invalid_json', mentions: 'string' },
  { when: 'the value is JSON null', value: 'null', reason: 'invalid_json', mentions: 'null' },
  { when: 'the value is not valid UTF-8', value: Buffer.from([0x7b, 0xff, 0x7d]), reason: 'invalid_json', mentions: 'UTF-8' },
  { when: 'the message has no value', value: null, reason: 'invalid_json', mentions: 'value' },
  { when: 'the value is empty', value: '', reason: 'invalid_json', mentions: 'value' },
  { when: 'the value is one byte over 64 KiB', value: padded(MAX_MESSAGE_BYTES + 1), reason: 'too_large', mentions: '65537' },
  { when: 'user_id is absent', value: { timestamp: MINIMAL.timestamp, url: MINIMAL.url }, reason: 'missing_field', mentions: 'user_id' },
  { when: 'user_id is an empty string', value: { ...MINIMAL, user_id: '' }, reason: 'missing_field', mentions: 'user_id' },
  { when: 'timestamp is absent', value: { user_id: 'u1', url: MINIMAL.url }, reason: 'missing_field', mentions: 'timestamp' },
  { when: 'url is null', value: { ...MINIMAL, url: null }, reason: 'missing_field', mentions: 'url' },
  {
    when: 'a CSV line has an empty user_id',
    value: 'c9,,2024-05-01 10:00:00,/a,US,Boston,Chrome,Windows,desktop',
    reason: 'missing_field',
    mentions: 'user_id',
  },
  { when: 'user_id is a number', value: { ...MINIMAL, user_id: 5 }, reason: 'invalid_type', mentions: 'user_id' },
  { when: 'timestamp is a boolean', value: { ...MINIMAL, timestamp: true }, reason: 'invalid_type', mentions: 'timestamp' },
  { when: 'url is a number', value: { ...MINIMAL, url: 5 }, reason: 'invalid_type', mentions: 'url' },
  { when: 'ip is a number', value: { ...MINIMAL, ip: 5 }, reason: 'invalid_type', mentions: 'ip' },
  { when: 'time_spent_ms has a fraction', value: { ...MINIMAL, time_spent_ms: 1.5 }, reason: 'invalid_type', mentions: 'time_spent_ms' },
  { when: 'time_spent is a string', value: { ...MINIMAL, time_spent: '12' }, reason: 'invalid_type', mentions: 'time_spent' },
  { when: 'event_id has 129 characters', value: { ...MINIMAL, event_id: long(129) }, reason: 'invalid_value', mentions: 'event_id' },
  { when: 'user_id has 257 characters', value: { ...MINIMAL, user_id: long(257) }, reason: 'invalid_value', mentions: 'user_id' },
  { when: 'session_id has 257 characters', value: { ...MINIMAL, session_id: long(257) }, reason: 'invalid_value', mentions: 'session_id' },
  {
    when: 'user_agent has 2049 characters',
    value: { ...MINIMAL, user_agent: long(2049) },
    reason: 'invalid_value',
    mentions: 'user_agent',
  },
  { when: 'referrer has 2049 characters', value: { ...MINIMAL, referrer: long(2049) }, reason: 'invalid_value', mentions: 'referrer' },
  { when: 'time_spent_ms is negative', value: { ...MINIMAL, time_spent_ms: -1 }, reason: 'invalid_value', mentions: 'time_spent_ms' },
  {
    when: 'time_spent_ms is over a day',
    value: { ...MINIMAL, time_spent_ms: 86_400_001 },
    reason: 'invalid_value',
    mentions: 'time_spent_ms',
  },
  { when: 'time_spent is over a day', value: { ...MINIMAL, time_spent: 86_401 }, reason: 'invalid_value', mentions: 'time_spent' },
  { when: 'url is an ftp URL', value: { ...MINIMAL, url: 'ftp://example.com/a' }, reason: 'invalid_url', mentions: 'url' },
  { when: 'url is a bare host', value: { ...MINIMAL, url: 'example.com/a' }, reason: 'invalid_url', mentions: 'url' },
  { when: 'url is protocol-relative', value: { ...MINIMAL, url: '//evil.com/a' }, reason: 'invalid_url', mentions: 'url' },
  {
    when: 'url has 2049 characters',
    value: { ...MINIMAL, url: `https://example.com/${long(2029)}` },
    reason: 'invalid_url',
    mentions: 'url',
  },
  { when: 'ip has an octet over 255', value: { ...MINIMAL, ip: '999.1.1.1' }, reason: 'invalid_ip', mentions: 'ip' },
  { when: 'ip is a host name', value: { ...MINIMAL, ip_address: 'localhost' }, reason: 'invalid_ip', mentions: 'ip' },
  { when: 'timestamp is free text', value: { ...MINIMAL, timestamp: 'yesterday' }, reason: 'invalid_timestamp', mentions: 'timestamp' },
  {
    when: 'timestamp is before 2000',
    value: { ...MINIMAL, timestamp: '1999-12-31T23:59:59Z' },
    reason: 'timestamp_out_of_range',
    mentions: 'timestamp',
  },
  { when: 'event_id holds a NUL', value: { ...MINIMAL, event_id: 'e\u0000' }, reason: 'invalid_value', mentions: 'event_id' },
  {
    when: 'timestamp is a day that does not exist',
    value: { ...MINIMAL, timestamp: '2024-02-30T10:00:00Z' },
    reason: 'invalid_timestamp',
    mentions: 'timestamp',
  },
  {
    when: 'timestamp is fractional milliseconds',
    value: { ...MINIMAL, timestamp: 1714557600000.5 },
    reason: 'invalid_timestamp',
    mentions: 'timestamp',
  },
  {
    when: 'timestamp is 1 ms more than 24 h after ingest',
    value: { ...MINIMAL, timestamp: NOW.getTime() + DAY_MS + 1 },
    reason: 'timestamp_in_future',
    mentions: 'timestamp',
  },
  {
    when: 'timestamp is next year',
    value: { ...MINIMAL, timestamp: '2025-05-01T10:00:00Z' },
    reason: 'timestamp_in_future',
    mentions: 'timestamp',
  },
];

await test('decodeClickMessage: rejections', async (t) => {
  for (const { when, value, reason, mentions } of rejections) {
    await t.test(`when ${when}, then it is rejected as ${reason}`, () => {
      const result = decode(value);
      assert.ok(!result.ok, 'expected a rejection');
      assert.equal(result.reason, reason);
      assert.match(result.message, new RegExp(mentions));
    });
  }
});

await test('when every reason code is listed, then each a message can earn has a rejection case', () => {
  // store_rejected is given by the ingest runtime when Cassandra refuses a row, never by decoding.
  assert.deepEqual(new Set(rejections.map(({ reason }) => reason)), new Set(INVALID_REASONS.filter((r) => r !== 'store_rejected')));
});

await test('when several fields are wrong, then the reason is the first and the message names all', () => {
  const result = decode({ user_id: 5, timestamp: MINIMAL.timestamp, url: 'ftp://x' });
  assert.ok(!result.ok);
  assert.equal(result.reason, 'invalid_type');
  assert.match(result.message, /user_id: .*; url: /);
});
