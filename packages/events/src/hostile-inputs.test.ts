/**
 * Hostile inputs against the message-level contract (v2): each row is one Kafka message (value,
 * optional key) and what decoding must make of it: a dead-letter reason, or a click with the
 * named parts. The first rows are the cases issue #8 reported; the rest probe each rule's edges.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickEvent, HintName } from './click-event.ts';
import { decodeClickMessage } from './decode-message.ts';
import type { InvalidReason } from './invalid-reason.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const BASE = { user_id: 'u1', timestamp: '2024-05-01T10:00:00Z', url: 'https://example.com/a' };
const KIB = 1024;

type Value = Buffer | string | Record<string, unknown> | null;
type Row = {
  when: string;
  value: Value;
  key?: Buffer | string;
  /** A dead-letter reason, or the parts of the decoded click (and the hints it ignored). */
  expect: InvalidReason | { event?: Partial<ClickEvent>; ignored?: HintName[] };
  /** A part of the dead-letter message, for rows whose message matters. */
  mentions?: RegExp;
};

const click = (fields: Record<string, unknown>) => ({ ...BASE, ...fields });
const ctl = (code: number) => String.fromCharCode(code);

const rows: Row[] = [
  // --- The cases issue #8 reported ---
  { when: 'a key is 0xff and there is no event_id', value: BASE, key: Buffer.from([0xff]), expect: { event: { userId: 'u1' } } },
  { when: 'the value is 900 KB of control characters', value: ctl(1).repeat(900_000), expect: 'too_large' },
  { when: 'the value is 10 MB', value: Buffer.alloc(10 * KIB * KIB, 0x20), expect: 'too_large' },
  {
    when: 'the key is 70 KiB and there is no event_id',
    value: BASE,
    key: Buffer.alloc(70 * KIB, 0x61),
    expect: 'too_large',
    mentions: /key/,
  },
  { when: 'the timestamp is the earliest Date', value: click({ timestamp: -8_640_000_000_000_000 }), expect: 'timestamp_out_of_range' },
  {
    when: 'the country is 300 characters',
    value: click({ country: 'x'.repeat(300) }),
    expect: { event: { country: null }, ignored: ['country'] },
  },
  {
    when: 'the country is 33,000 characters',
    value: click({ country: 'U'.repeat(33_000) }),
    expect: { event: { country: null }, ignored: ['country'] },
  },
  {
    when: 'a CSV line has a quoted comma',
    value: 'c1,u1,2024-05-01 10:00:00,/a,US,"Washington, DC",Chrome,Windows,desktop',
    expect: { event: { city: 'Washington, DC', browser: 'Chrome' } },
  },
  { when: 'the url holds CR LF', value: click({ url: '/a\r\nb' }), expect: 'invalid_url', mentions: /U\+000D/ },
  { when: 'the url holds a tab', value: click({ url: 'https://exa\tmple.com/a' }), expect: 'invalid_url' },
  {
    when: 'the timestamp is epoch seconds',
    value: click({ timestamp: 1_714_557_600 }),
    expect: 'timestamp_out_of_range',
    mentions: /epoch seconds/,
  },
  { when: 'the timestamp is a negative epoch', value: click({ timestamp: -1_000 }), expect: 'timestamp_out_of_range' },
  { when: 'the user_id is blank', value: click({ user_id: '   ' }), expect: 'invalid_value', mentions: /blank/ },
  { when: 'the user_id is NUL', value: click({ user_id: '\u0000' }), expect: 'invalid_value', mentions: /U\+0000/ },
  { when: 'the timestamp is 0001-01-01', value: click({ timestamp: '0001-01-01' }), expect: 'timestamp_out_of_range' },
  { when: 'the timestamp is year 0 via epoch', value: click({ timestamp: -62_167_219_200_000 }), expect: 'timestamp_out_of_range' },
  {
    when: 'a broken JSON object has 8 commas',
    value: '{"event_id":"e1","user_id":"u1","timestamp":"2024-05-01","url":"/a","country":"US","city":"B","browser":"C","os":"W","device":',
    expect: 'invalid_json',
    mentions: /JSON/,
  },

  // --- Size and encoding ---
  { when: 'the value is empty', value: '', expect: 'invalid_json' },
  { when: 'the message has no value', value: null, expect: 'invalid_json' },
  { when: 'the value is 64 KiB + 1 of spaces', value: ' '.repeat(64 * KIB + 1), expect: 'too_large' },
  {
    when: 'the key is 64 KiB + 1 bytes with an event_id',
    value: click({ event_id: 'e1' }),
    key: Buffer.alloc(64 * KIB + 1),
    expect: 'too_large',
  },
  { when: 'the key is exactly 64 KiB', value: BASE, key: Buffer.alloc(64 * KIB, 0x62), expect: { event: { userId: 'u1' } } },
  { when: 'the value is invalid UTF-8', value: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), expect: 'invalid_json' },
  { when: 'the value is an overlong UTF-8 slash', value: Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]), expect: 'invalid_json' },
  { when: 'the value is UTF-16 LE JSON', value: Buffer.from(JSON.stringify(BASE), 'utf16le'), expect: 'invalid_json' },
  { when: 'the value is a UTF-8 BOM then JSON', value: `\uFEFF${JSON.stringify(BASE)}`, expect: { event: { userId: 'u1' } } },
  { when: 'the value is two BOMs then JSON', value: `\uFEFF\uFEFF${JSON.stringify(BASE)}`, expect: 'invalid_json' },
  {
    when: 'the value is a BOM then a CSV line',
    value: '\uFEFFc1,u1,2024-05-01 10:00:00,/a,US,Boston,Chrome,Windows,desktop',
    expect: { event: { eventId: 'c1' } },
  },
  { when: 'the value is only a BOM', value: '\uFEFF', expect: 'invalid_json' },
  { when: 'the value is white space', value: ' \n\t ', expect: 'invalid_json' },
  { when: 'the value is a NUL byte', value: Buffer.from([0]), expect: 'invalid_json' },
  { when: 'the value is JSON with a trailing NUL', value: `${JSON.stringify(BASE)}\u0000`, expect: 'invalid_json' },

  // --- JSON shapes ---
  { when: 'the value is a JSON array of a click', value: JSON.stringify([BASE]), expect: 'invalid_json', mentions: /array/ },
  { when: 'the value is a JSON number', value: '42', expect: 'invalid_json' },
  { when: 'the value is JSON true', value: 'true', expect: 'invalid_json' },
  { when: 'the value is an unterminated array that has 8 commas', value: '[1,2,3,4,5,6,7,8,9', expect: 'invalid_json' },
  { when: 'a broken object starts after white space', value: '  {"user_id":"u1",,,,,,,,}', expect: 'invalid_json' },
  {
    when: 'the value is JSON with a duplicate user_id (last wins)',
    value: '{"user_id":"a","user_id":"b","timestamp":"2024-05-01","url":"/a"}',
    expect: { event: { userId: 'b' } },
  },
  {
    when: 'the value has __proto__ with a user_id',
    value: '{"__proto__":{"user_id":"x"},"timestamp":"2024-05-01","url":"/a"}',
    expect: 'missing_field',
  },
  {
    when: 'the value is deeply nested unknown data',
    value: `{"user_id":"u1","timestamp":"2024-05-01","url":"/a","x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    expect: { event: { userId: 'u1' } },
  },
  { when: 'user_id is an object', value: click({ user_id: { id: 'u1' } }), expect: 'invalid_type' },
  { when: 'user_id is an array', value: click({ user_id: ['u1'] }), expect: 'invalid_type' },
  { when: 'user_id is true', value: click({ user_id: true }), expect: 'invalid_type' },

  // --- CSV (RFC 4180) ---
  {
    when: 'a CSV line has an escaped quote',
    value: 'c1,u1,2024-05-01 10:00:00,/a,US,"Say ""hi""",Chrome,Windows,desktop',
    expect: { event: { city: 'Say "hi"' } },
  },
  {
    when: 'a CSV line has an unterminated quote',
    value: 'c1,u1,2024-05-01 10:00:00,/a,US,"Boston,Chrome,Windows,desktop',
    expect: 'invalid_json',
  },
  {
    when: 'a CSV value has two lines',
    value: 'c1,u1,2024-05-01,/a,US,B,C,W,d\nc2,u1,2024-05-01,/a,US,B,C,W,d',
    expect: 'invalid_json',
    mentions: /2 lines/,
  },
  { when: 'a CSV line has 10 fields', value: 'c1,u1,2024-05-01,/a,US,B,C,W,d,extra', expect: 'invalid_json', mentions: /10 fields/ },
  { when: 'a CSV line has 8 fields', value: 'c1,u1,2024-05-01,/a,US,B,C,W', expect: 'invalid_json' },
  { when: 'a CSV line has a quoted field with a newline in the url', value: 'c1,u1,2024-05-01,"/a\nb",US,B,C,W,d', expect: 'invalid_url' },
  {
    when: 'a CSV line ends with CRLF',
    value: 'c1,u1,2024-05-01 10:00:00,/a,US,Boston,Chrome,Windows,desktop\r\n',
    expect: { event: { device: 'desktop' } },
  },
  {
    when: 'a CSV line has spaces around cells',
    value: 'c1, u1 ,2024-05-01 10:00:00, /a ,US,Boston,Chrome,Windows,desktop',
    expect: { event: { userId: 'u1', url: '/a' } },
  },
  { when: 'a CSV line has epoch seconds', value: 'c1,u1,1714557600,/a,US,B,C,W,d', expect: 'timestamp_out_of_range' },
  { when: 'a CSV line has a negative epoch', value: 'c1,u1,-5,/a,US,B,C,W,d', expect: 'timestamp_out_of_range' },
  { when: 'a CSV line has a blank user id', value: 'c1,"",2024-05-01,/a,US,B,C,W,d', expect: 'missing_field' },
  { when: 'a CSV line has a country name', value: 'c1,u1,2024-05-01,/a,United Kingdom,B,C,W,d', expect: { event: { country: 'GB' } } },
  { when: 'a CSV line has country ZZ', value: 'c1,u1,2024-05-01,/a,ZZ,B,C,W,d', expect: { event: { country: null }, ignored: [] } },

  // --- Identifiers ---
  { when: 'event_id has 128 characters', value: click({ event_id: 'e'.repeat(128) }), expect: { event: { eventId: 'e'.repeat(128) } } },
  {
    when: 'event_id has 128 emoji (256 UTF-16 units)',
    value: click({ event_id: '😀'.repeat(128) }),
    expect: { event: { eventId: '😀'.repeat(128) } },
  },
  { when: 'event_id has 129 characters', value: click({ event_id: 'e'.repeat(129) }), expect: 'invalid_value' },
  { when: 'event_id is blank', value: click({ event_id: ' ' }), expect: 'invalid_value' },
  { when: 'event_id holds DEL', value: click({ event_id: `e${ctl(0x7f)}` }), expect: 'invalid_value' },
  { when: 'event_id holds a C1 control', value: click({ event_id: `e${ctl(0x85)}` }), expect: 'invalid_value' },
  {
    when: 'event_id holds a lone surrogate',
    value: '{"event_id":"\\ud800","user_id":"u1","timestamp":"2024-05-01","url":"/a"}',
    expect: 'invalid_value',
  },
  { when: 'event_id is a number', value: click({ event_id: 7 }), expect: 'invalid_type' },
  { when: 'user_id has 256 characters', value: click({ user_id: 'u'.repeat(256) }), expect: { event: { userId: 'u'.repeat(256) } } },
  { when: 'user_id has 257 characters', value: click({ user_id: 'u'.repeat(257) }), expect: 'invalid_value' },
  { when: 'user_id holds an escape character', value: click({ user_id: `u${ctl(0x1b)}[31m` }), expect: 'invalid_value' },
  { when: 'user_id holds a newline', value: click({ user_id: 'u\n1' }), expect: 'invalid_value' },
  { when: 'user_id is a no-break space', value: click({ user_id: '\u00a0' }), expect: 'invalid_value' },
  { when: 'user_id is an ideographic space', value: click({ user_id: '\u3000' }), expect: 'invalid_value' },
  { when: 'user_id has a zero-width joiner inside', value: click({ user_id: 'u\u200d1' }), expect: { event: { userId: 'u\u200d1' } } },
  { when: 'user_id is non-Latin', value: click({ user_id: 'пользователь' }), expect: { event: { userId: 'пользователь' } } },
  { when: 'user_id is null', value: click({ user_id: null }), expect: 'missing_field' },
  { when: 'session_id holds a NUL', value: click({ session_id: 's\u0000' }), expect: 'invalid_value' },
  { when: 'session_id is blank', value: click({ session_id: '\t' }), expect: 'invalid_value' },
  { when: 'session_id has 257 characters', value: click({ session_id: 's'.repeat(257) }), expect: 'invalid_value' },

  // --- Time ---
  {
    when: 'the timestamp is 1999-12-31T23:59:59.999Z',
    value: click({ timestamp: '1999-12-31T23:59:59.999Z' }),
    expect: 'timestamp_out_of_range',
  },
  {
    when: 'the timestamp is 2000-01-01T00:00:00Z',
    value: click({ timestamp: '2000-01-01T00:00:00Z' }),
    expect: { event: { eventTime: new Date('2000-01-01T00:00:00Z') } },
  },
  {
    when: 'the timestamp is 2000-01-01T01:00:00+02:00 (before 2000 in UTC)',
    value: click({ timestamp: '2000-01-01T01:00:00+02:00' }),
    expect: 'timestamp_out_of_range',
  },
  { when: 'the timestamp is 1970 as epoch 0', value: click({ timestamp: 0 }), expect: 'timestamp_out_of_range' },
  { when: 'the timestamp is -0', value: '{"user_id":"u1","timestamp":-0,"url":"/a"}', expect: 'timestamp_out_of_range' },
  { when: 'the timestamp is 1e21', value: '{"user_id":"u1","timestamp":1e21,"url":"/a"}', expect: 'timestamp_in_future' },
  { when: 'the timestamp is 9999-12-31', value: click({ timestamp: '9999-12-31T23:59:59Z' }), expect: 'timestamp_in_future' },
  { when: 'the timestamp is epoch microseconds', value: click({ timestamp: 1_714_557_600_000_000 }), expect: 'timestamp_in_future' },
  { when: 'the timestamp is a fractional epoch', value: click({ timestamp: 1_714_557_600_000.25 }), expect: 'invalid_timestamp' },
  { when: 'the timestamp is an epoch string with a fraction', value: click({ timestamp: '1714557600000.0' }), expect: 'invalid_timestamp' },
  {
    when: 'the timestamp is an epoch in exponent form',
    value: '{"user_id":"u1","timestamp":1.7145576e12,"url":"/a"}',
    expect: { event: { eventTime: new Date(1.7145576e12) } },
  },
  { when: 'the timestamp is a string of 30 digits', value: click({ timestamp: '1'.repeat(30) }), expect: 'invalid_timestamp' },
  { when: 'the timestamp is RFC 2822', value: click({ timestamp: 'Wed, 01 May 2024 10:00:00 GMT' }), expect: 'invalid_timestamp' },
  { when: 'the timestamp holds a NUL', value: click({ timestamp: '2024-05-01\u0000' }), expect: 'invalid_timestamp' },
  {
    when: 'the timestamp is 60 KB of digits and letters',
    value: click({ timestamp: '1a'.repeat(30_000) }),
    expect: 'invalid_timestamp',
    mentions: /\.\.\./,
  },
  { when: 'the timestamp is an object', value: click({ timestamp: { $date: 1 } }), expect: 'invalid_type' },
  { when: 'the timestamp is Feb 29 of a non-leap year', value: click({ timestamp: '2023-02-29T10:00:00Z' }), expect: 'invalid_timestamp' },

  // --- URL ---
  {
    when: 'the url has credentials',
    value: click({ url: 'https://user:pw@Example.com/a?q=1' }),
    expect: { event: { url: 'https://example.com/a?q=1', urlKey: 'https://example.com/a' } },
  },
  {
    when: 'the url has only a user name',
    value: click({ url: 'http://admin@example.com/' }),
    expect: { event: { url: 'http://example.com/' } },
  },
  {
    when: 'the url without credentials keeps its spelling',
    value: click({ url: 'https://Example.com/A?b' }),
    expect: { event: { url: 'https://Example.com/A?b' } },
  },
  {
    when: 'the url has 2,048 characters',
    value: click({ url: `/${'a'.repeat(2047)}` }),
    expect: { event: { urlKey: `/${'a'.repeat(2047)}` } },
  },
  { when: 'the url has 2,049 characters', value: click({ url: `/${'a'.repeat(2048)}` }), expect: 'invalid_url' },
  { when: 'the url holds a NUL', value: click({ url: '/a\u0000' }), expect: 'invalid_url' },
  { when: 'the url holds a C1 control', value: click({ url: `/a${ctl(0x9b)}` }), expect: 'invalid_url' },
  { when: 'the url is blank', value: click({ url: '  ' }), expect: 'invalid_url' },
  { when: 'the url is data:', value: click({ url: 'data:text/html,<script>' }), expect: 'invalid_url' },
  { when: 'the url is file:', value: click({ url: 'file:///etc/passwd' }), expect: 'invalid_url' },
  { when: 'the url is protocol-relative with backslashes', value: click({ url: '\\\\evil.com/a' }), expect: 'invalid_url' },
  { when: 'the url has a lone surrogate', value: '{"user_id":"u1","timestamp":"2024-05-01","url":"/a\\udc00"}', expect: 'invalid_url' },
  { when: 'the url is an array', value: click({ url: ['/a'] }), expect: 'invalid_type' },

  // --- IP ---
  { when: 'the ip has a zone id', value: click({ ip: 'fe80::1%eth0' }), expect: 'invalid_ip', mentions: /zone/ },
  { when: 'the ip has an encoded zone id', value: click({ ip: 'fe80::1%25eth0' }), expect: 'invalid_ip' },
  { when: 'the ip is IPv4-mapped IPv6', value: click({ ip: '::ffff:9.9.9.9' }), expect: { event: { ip: '::ffff:9.9.9.9' } } },
  { when: 'the ip has leading zeros', value: click({ ip: '010.1.1.1' }), expect: 'invalid_ip' },
  { when: 'the ip has a port', value: click({ ip: '1.2.3.4:80' }), expect: 'invalid_ip' },
  { when: 'the ip is in brackets', value: click({ ip: '[::1]' }), expect: 'invalid_ip' },
  { when: 'the ip has a CIDR suffix', value: click({ ip: '1.2.3.0/24' }), expect: 'invalid_ip' },
  { when: 'the ip has a trailing newline', value: click({ ip: '1.2.3.4\n' }), expect: 'invalid_ip' },
  { when: 'the ip is an integer', value: click({ ip: 16_909_060 }), expect: 'invalid_type' },

  // --- Hints: never a reason to lose a click ---
  { when: 'the country is lower-case alpha-2', value: click({ country: 'gb' }), expect: { event: { country: 'GB' }, ignored: [] } },
  {
    when: 'the country is an unassigned alpha-2',
    value: click({ country: 'XX' }),
    expect: { event: { country: null }, ignored: ['country'] },
  },
  { when: 'the country is alpha-3', value: click({ country: 'deu' }), expect: { event: { country: 'DE' } } },
  { when: 'the country is a French name', value: click({ country: 'Allemagne' }), expect: { event: { country: 'DE' } } },
  { when: 'the country is a common English name', value: click({ country: 'United States' }), expect: { event: { country: 'US' } } },
  { when: 'the country is a name in capitals', value: click({ country: 'GERMANY' }), expect: { event: { country: 'DE' } } },
  { when: 'the country is a number', value: click({ country: 840 }), expect: { event: { country: null }, ignored: ['country'] } },
  { when: 'the country holds a NUL', value: click({ country: 'U\u0000S' }), expect: { event: { country: null }, ignored: ['country'] } },
  { when: 'the country is an emoji flag', value: click({ country: '🇺🇸' }), expect: { event: { country: null }, ignored: ['country'] } },
  {
    when: 'the country is an object',
    value: click({ country: { code: 'US' } }),
    expect: { event: { country: null }, ignored: ['country'] },
  },
  {
    when: 'the city has 128 characters',
    value: click({ city: 'c'.repeat(128) }),
    expect: { event: { city: 'c'.repeat(128) }, ignored: [] },
  },
  { when: 'the city has 129 characters', value: click({ city: 'c'.repeat(129) }), expect: { event: { city: null }, ignored: ['city'] } },
  { when: 'the region holds a tab', value: click({ region: 'C\tA' }), expect: { event: { region: null }, ignored: ['region'] } },
  {
    when: 'the browser is 1 MB-ish of text',
    value: click({ browser: 'b'.repeat(60_000) }),
    expect: { event: { browser: null }, ignored: ['browser'] },
  },
  { when: 'the os is blank', value: click({ os: '   ' }), expect: { event: { os: null }, ignored: ['os'] } },
  { when: 'the device is a number', value: click({ device: 3 }), expect: { event: { device: null }, ignored: ['device'] } },
  {
    when: 'every hint is unsound',
    value: click({
      country: 'Atlantis',
      region: '\u0007',
      city: 'x'.repeat(200),
      browser: false,
      operating_system: [1],
      device: `d${ctl(0x9f)}`,
    }),
    expect: {
      event: { country: null, region: null, city: null, browser: null, os: null, device: null },
      ignored: ['country', 'region', 'city', 'browser', 'os', 'device'],
    },
  },

  // --- Other optional fields ---
  { when: 'the user agent has 2,049 characters', value: click({ user_agent: 'a'.repeat(2049) }), expect: 'invalid_value' },
  {
    when: 'the user agent has a lone surrogate',
    value: '{"user_id":"u1","timestamp":"2024-05-01","url":"/a","ua":"x\\ud800"}',
    expect: { event: { userAgent: 'x\ufffd' } },
  },
  { when: 'the referrer is an object', value: click({ referrer: { href: '/' } }), expect: 'invalid_type' },
  { when: 'time_spent_ms is a numeric string', value: click({ time_spent_ms: '5' }), expect: 'invalid_type' },
  {
    when: 'time_spent_ms is 1e21',
    value: '{"user_id":"u1","timestamp":"2024-05-01","url":"/a","time_spent_ms":1e21}',
    expect: 'invalid_value',
  },
  {
    when: 'time_spent is negative zero',
    value: '{"user_id":"u1","timestamp":"2024-05-01","url":"/a","time_spent":-0}',
    expect: { event: { timeSpentMs: 0 } },
  },
  {
    when: 'time_spent_ms is negative zero',
    value: '{"user_id":"u1","timestamp":"2024-05-01","url":"/a","time_spent_ms":-0}',
    expect: { event: { timeSpentMs: 0 } },
  },
];

function decode(row: Row) {
  const { value, key } = row;
  const bytes = value === null || Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const keyBytes = key === undefined ? null : Buffer.isBuffer(key) ? key : Buffer.from(key);
  return decodeClickMessage({ value: bytes, key: keyBytes, topic: 'clicks', partition: 0, offset: '1' }, NOW);
}

await test('hostile inputs: each message is a dead letter with its reason, or a click with sound parts only', async (t) => {
  for (const row of rows) {
    const { when, expect, mentions } = row;
    const outcome = typeof expect === 'string' ? expect : 'a click';
    await t.test(`when ${when}, then it is ${outcome}`, () => {
      const result = decode(row);
      if (typeof expect === 'string') {
        assert.ok(!result.ok, 'expected a dead letter');
        assert.equal(result.reason, expect, result.message);
        if (mentions) assert.match(result.message, mentions);
        assert.ok(result.message.length <= 2_000, `the message stays short (${result.message.length})`);
        return;
      }
      assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.message}`);
      for (const [field, value] of Object.entries(expect.event ?? {})) {
        assert.deepEqual(result.event[field as keyof ClickEvent], value, field);
      }
      if (expect.ignored) assert.deepEqual([...result.ignoredHints], expect.ignored);
    });
  }
});

await test('when 100 id-less clicks of 5 users are keyed by user, then they get 100 different ids, the same on a replay', () => {
  const ids = (): string[] =>
    Array.from({ length: 100 }, (_, i) => {
      const user = `user-${i % 5}`;
      const result = decode({
        when: '',
        value: click({ user_id: user, timestamp: Date.parse(BASE.timestamp) + i * 1000, url: `/p/${i % 7}` }),
        key: user,
        expect: 'invalid_json',
      });
      assert.ok(result.ok);
      return result.event.eventId;
    });
  const first = ids();
  assert.equal(new Set(first).size, 100);
  assert.deepEqual(ids(), first);
});

await test('when two clicks differ only in their binary keys, then they are one click', () => {
  const [a, b] = [Buffer.from([0xff]), Buffer.from([0xfe])].map((key) => decode({ when: '', value: BASE, key, expect: 'invalid_json' }));
  assert.ok(a?.ok && b?.ok);
  assert.equal(a.event.eventId, b.event.eventId);
});

await test('when two clicks differ in any identity part, then their ids differ', () => {
  const variants = [
    BASE,
    click({ user_id: 'u2' }),
    click({ timestamp: '2024-05-01T10:00:00.001Z' }),
    click({ url: 'https://example.com/a?b' }),
    click({ session_id: 's1' }),
    click({ session_id: 's2' }),
    // Parts that would run together in a naive concatenation.
    click({ user_id: 'u1", 1' }),
  ];
  const ids = variants.map((value) => {
    const result = decode({ when: '', value, expect: 'invalid_json' });
    assert.ok(result.ok);
    return result.event.eventId;
  });
  assert.equal(new Set(ids).size, variants.length);
});
