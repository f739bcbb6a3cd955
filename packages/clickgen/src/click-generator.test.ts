import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { ClickGeneratorOptionsError, createClickGenerator } from './index.ts';
import type { ClickGeneratorOptions, GeneratedClick, GeneratedMessage } from './index.ts';

const START_MS = Date.UTC(2024, 4, 1, 0, 0, 0);
const SPAN_MS = 3 * 86_400_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function generate(overrides: Partial<ClickGeneratorOptions> = {}): GeneratedMessage[] {
  return [
    ...createClickGenerator({
      seed: 42,
      count: 10_000,
      startMs: START_MS,
      spanMs: SPAN_MS,
      duplicateRatio: 0.05,
      invalidRatio: 0.04,
      ...overrides,
    }),
  ];
}

function validEvents(messages: readonly GeneratedMessage[]): GeneratedClick[] {
  return messages.flatMap((m) => (m.kind === 'valid' ? [m.event] : []));
}

/** Reads a contract timestamp the way the contract defines it (zone-less = UTC). */
function parseTimestamp(timestamp: unknown): number {
  if (typeof timestamp === 'number') return timestamp;
  assert.equal(typeof timestamp, 'string');
  const text = String(timestamp);
  return Date.parse(/(?:[zZ]|[+-]\d\d:\d\d)$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k) ?? [];
    group.push(item);
    groups.set(k, group);
  }
  return groups;
}

// One run shared by the read-only checks below.
const messages = generate();
const events = validEvents(messages);

await test('createClickGenerator', async (t) => {
  await t.test('when called twice with the same options, then the sequences are byte-identical', () => {
    const again = generate();
    assert.equal(again.length, messages.length);
    assert.deepEqual(
      again.map((m) => [m.key, m.value, m.kind]),
      messages.map((m) => [m.key, m.value, m.kind]),
    );
  });

  await t.test('when the seed differs, then the values differ', () => {
    const other = generate({ seed: 43 });
    const ours = new Set(messages.map((m) => m.value));
    const shared = other.filter((m) => ours.has(m.value)).length;
    assert.equal(shared, 0);
  });

  await t.test('when ratios are given, then message kinds match them exactly', () => {
    const counts = groupBy(messages, (m) => m.kind);
    assert.equal(messages.length, 10_000);
    assert.equal(counts.get('duplicate')?.length, 500);
    assert.equal(counts.get('invalid')?.length, 400);
    assert.equal(counts.get('valid')?.length, 9_100);
  });

  for (const ratios of [
    { botRatio: 0.03, timeSpentRatio: 0.3 },
    { botRatio: 0.2, timeSpentRatio: 0.6 },
    { botRatio: 0, timeSpentRatio: 0 },
  ]) {
    await t.test(`when botRatio=${ratios.botRatio} and timeSpentRatio=${ratios.timeSpentRatio}, then valid events respect them`, () => {
      const sample = ratios.botRatio === 0.03 && ratios.timeSpentRatio === 0.3 ? events : validEvents(generate(ratios));
      const botShare = sample.filter((e) => e.expected.isBot).length / sample.length;
      const timeSpentShare = sample.filter((e) => e.timeSpentMs !== null).length / sample.length;
      assert.ok(Math.abs(botShare - ratios.botRatio) < 0.002, `bot share ${botShare}`);
      assert.ok(Math.abs(timeSpentShare - ratios.timeSpentRatio) < 0.03, `time spent share ${timeSpentShare}`);
      assert.ok(sample.filter((e) => e.expected.isBot).every((e) => e.timeSpentMs === null && e.sessionId === null));
    });
  }

  await t.test('when the defaults apply, then no duplicates or invalid messages are produced', () => {
    const plain = [...createClickGenerator({ seed: 5, count: 2_000, startMs: START_MS })];
    assert.equal(plain.length, 2_000);
    assert.ok(plain.every((m) => m.kind === 'valid'));
  });

  await t.test('when a message is valid, then its value is the contract JSON of its event, keyed by user', () => {
    for (const message of messages) {
      if (message.kind === 'invalid') continue;
      const body = JSON.parse(message.value) as Record<string, unknown>;
      const event = message.event;
      assert.equal(message.key, event.userId);
      assert.equal(body['user_id'], event.userId);
      assert.equal(body['event_id'], event.eventId);
      assert.equal(body['url'], event.url);
      assert.equal(body['timestamp'], event.timestamp);
      assert.equal(parseTimestamp(body['timestamp']), event.eventTimeMs);
      assert.ok(typeof body['url'] === 'string' && (body['url'].startsWith('/') || /^https?:\/\//.test(body['url'])));
      assert.ok(
        Object.keys(body).every((k) => /^[a-z_]+$/.test(k)),
        `snake_case keys: ${message.value}`,
      );
      assert.ok(body['ip'] === undefined || (typeof body['ip'] === 'string' && isIP(body['ip']) === 4));
      assert.ok((body['ip'] === undefined) !== (body['country'] === undefined), 'either ip or a pre-enriched country');
      const timeSpent = body['time_spent_ms'];
      assert.ok(timeSpent === undefined || (Number.isInteger(timeSpent) && Number(timeSpent) >= 0 && Number(timeSpent) <= 86_400_000));
      assert.ok(Buffer.byteLength(message.value) < 64 * 1024);
    }
  });

  await t.test('when events are generated, then their times fall in [startMs, startMs + spanMs) and ids are unique', () => {
    assert.ok(events.every((e) => e.eventTimeMs >= START_MS && e.eventTimeMs < START_MS + SPAN_MS));
    assert.equal(new Set(events.map((e) => e.eventId)).size, events.length);
    assert.ok(events.every((e) => e.eventId.startsWith('evt-42-')));
    // Every day of the range gets a fair share of the traffic.
    const perDay = groupBy(events, (e) => String(Math.floor((e.eventTimeMs - START_MS) / DAY_MS)));
    assert.deepEqual([...perDay.keys()].sort(), ['0', '1', '2']);
    for (const day of perDay.values()) assert.ok(day.length > events.length / 5);
  });

  await t.test('when the span is one minute, then every event still falls inside it', () => {
    const short = validEvents(generate({ spanMs: 60_000, count: 1_000 }));
    assert.ok(short.length > 800);
    assert.ok(short.every((e) => e.eventTimeMs >= START_MS && e.eventTimeMs < START_MS + 60_000));
  });

  await t.test('when a message is a duplicate, then it re-sends an earlier valid message verbatim', () => {
    const seen = new Map<string, string | null>();
    for (const message of messages) {
      if (message.kind === 'valid') seen.set(message.value, message.key);
      if (message.kind === 'duplicate') {
        assert.ok(seen.has(message.value), 'the original came first');
        assert.equal(seen.get(message.value), message.key);
      }
    }
  });

  await t.test('when a message is invalid, then it breaks exactly the rule its reason names', () => {
    const invalid = messages.flatMap((m) => (m.kind === 'invalid' ? [m] : []));
    const byReason = groupBy(invalid, (m) => m.invalidReason);
    assert.deepEqual([...byReason.keys()].sort(), ['invalid_ip', 'invalid_json', 'invalid_url', 'missing_field', 'timestamp_in_future']);
    const nowMs = START_MS + SPAN_MS;
    for (const message of invalid) {
      if (message.invalidReason === 'invalid_json') {
        assert.throws(() => JSON.parse(message.value) as unknown);
        assert.notEqual(message.value.split(',').length, 9, 'not the seeds CSV shape');
        continue;
      }
      const body = JSON.parse(message.value) as Record<string, unknown>;
      const url = String(body['url']);
      const urlOk = url.startsWith('/') || (URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol));
      const ipOk = isIP(String(body['ip'])) !== 0;
      const timeOk = parseTimestamp(body['timestamp']) <= nowMs + 24 * HOUR_MS;
      const userOk = typeof body['user_id'] === 'string';
      const broken = { missing_field: !userOk, invalid_url: !urlOk, invalid_ip: !ipOk, timestamp_in_future: !timeOk };
      for (const [rule, isBroken] of Object.entries(broken)) {
        assert.equal(isBroken, rule === message.invalidReason, `${rule} in ${message.value}`);
      }
    }
  });

  await t.test('when nowMs is given, then future timestamps are relative to it', () => {
    const nowMs = Date.UTC(2030, 0, 1);
    const invalid = generate({ nowMs, invalidRatio: 0.5 }).filter((m) => m.invalidReason === 'timestamp_in_future');
    assert.ok(invalid.length > 100);
    for (const message of invalid) {
      const timeMs = parseTimestamp((JSON.parse(message.value) as Record<string, unknown>)['timestamp']);
      assert.ok(timeMs > nowMs + 24 * HOUR_MS && timeMs <= nowMs + 30 * DAY_MS);
    }
  });

  await t.test('when sessions are long, then some cross hour and day boundaries', () => {
    const sessions = groupBy(
      events.filter((e) => e.sessionId !== null),
      (e) => `${e.userId}|${e.sessionId ?? ''}`,
    );
    const spans = (unitMs: number): number =>
      [...sessions.values()].filter((s) => new Set(s.map((e) => Math.floor(e.eventTimeMs / unitMs))).size > 1).length;
    assert.ok(spans(HOUR_MS) >= 50, `sessions across hours: ${spans(HOUR_MS)}`);
    assert.ok(spans(DAY_MS) >= 1, `sessions across days: ${spans(DAY_MS)}`);
    const perSession = [...sessions.values()].map((s) => s.length);
    assert.ok(perSession.reduce((a, b) => a + b, 0) / perSession.length > 3, 'several page views per session');
  });

  await t.test('when a user pauses, then dwell gaps are mostly seconds to minutes and sometimes over 30 minutes', () => {
    const gaps: { ms: number; sameSession: boolean }[] = [];
    for (const userEvents of groupBy(events, (e) => e.userId).values()) {
      const ordered = [...userEvents].sort((a, b) => a.eventTimeMs - b.eventTimeMs);
      for (let i = 1; i < ordered.length; i += 1) {
        const [previous, current] = [ordered[i - 1], ordered[i]];
        if (previous === undefined || current === undefined) continue;
        gaps.push({ ms: current.eventTimeMs - previous.eventTimeMs, sameSession: previous.sessionId === current.sessionId });
      }
    }
    const share = (predicate: (gap: { ms: number; sameSession: boolean }) => boolean): number =>
      gaps.filter(predicate).length / gaps.length;
    assert.ok(share((g) => g.ms >= 1_000 && g.ms <= 5 * 60_000) > 0.6);
    assert.ok(share((g) => g.ms > 30 * 60_000) > 0.02);
    assert.ok(
      gaps.some((g) => g.ms > 30 * 60_000 && !g.sameSession),
      'long breaks start new sessions',
    );
    assert.ok(
      gaps.some((g) => g.ms === 30 * 60_000 && g.sameSession),
      'the exact 30-minute boundary occurs',
    );
  });

  await t.test('when users click concurrently, then the stream interleaves them in roughly time order', () => {
    let switches = 0;
    for (let i = 1; i < events.length; i += 1) if (events[i]?.userId !== events[i - 1]?.userId) switches += 1;
    assert.ok(switches > events.length / 3, `user switches: ${switches}`);
    let outOfOrder = 0;
    let pairs = 0;
    for (const userEvents of groupBy(events, (e) => e.userId).values()) {
      for (let i = 1; i < userEvents.length; i += 1) {
        pairs += 1;
        if ((userEvents[i]?.eventTimeMs ?? 0) < (userEvents[i - 1]?.eventTimeMs ?? 0)) outOfOrder += 1;
      }
    }
    assert.ok(outOfOrder > 0, 'a few clicks arrive late');
    assert.ok(outOfOrder / pairs < 0.03, `out of order: ${outOfOrder} of ${pairs}`);
  });

  await t.test('when traffic is generated, then many users and Zipf-like page popularity show', () => {
    assert.ok(new Set(events.map((e) => e.userId)).size > 500);
    const perPage = [...groupBy(events, (e) => e.expected.urlKey).values()].map((g) => g.length).sort((a, b) => b - a);
    assert.ok(perPage.length > 150, `pages seen: ${perPage.length}`);
    const median = perPage[Math.floor(perPage.length / 2)] ?? 1;
    assert.ok((perPage[0] ?? 0) > 20 * median, `top ${perPage[0]} vs median ${median}`);
    assert.ok(
      events.some((e) => e.url.startsWith('/')),
      'path-only urls',
    );
    assert.ok(new Set(events.map((e) => new URL(e.expected.urlKey, 'http://path.only').host)).size >= 4, 'several hosts');
  });

  await t.test('when clients differ, then timestamps mix ISO strings and epoch ms and a few events carry a country', () => {
    const epoch = events.filter((e) => typeof e.timestamp === 'number').length / events.length;
    assert.ok(epoch > 0.15 && epoch < 0.6, `epoch share ${epoch}`);
    assert.ok(events.some((e) => typeof e.timestamp === 'string' && e.timestamp.endsWith('Z')));
    assert.ok(events.some((e) => typeof e.timestamp === 'string' && /[+-]\d\d:\d\d$/.test(e.timestamp)));
    assert.ok(events.some((e) => typeof e.timestamp === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(e.timestamp)));
    const preEnriched = events.filter((e) => e.country !== null);
    assert.ok(preEnriched.length / events.length > 0.005 && preEnriched.length / events.length < 0.1);
    assert.ok(preEnriched.every((e) => e.ip === null && e.country?.toUpperCase() === e.expected.country));
  });

  await t.test('when count is 0, then nothing is produced', () => {
    assert.deepEqual([...createClickGenerator({ seed: 1, count: 0, startMs: START_MS })], []);
  });

  await t.test('when every message should be a duplicate, then the first is the valid original', () => {
    const all = [...createClickGenerator({ seed: 1, count: 5, startMs: START_MS, duplicateRatio: 1 })];
    assert.deepEqual(
      all.map((m) => m.kind),
      ['valid', 'duplicate', 'duplicate', 'duplicate', 'duplicate'],
    );
  });

  for (const [option, value] of [
    ['seed', 1.5],
    ['count', -1],
    ['startMs', Number.NaN],
    ['spanMs', 0],
    ['users', 0],
    ['pages', 0],
    ['botRatio', 1.5],
    ['timeSpentRatio', -0.1],
    ['invalidRatio', Number.NaN],
  ] as const) {
    await t.test(`when ${option} is ${value}, then the generator refuses with an error naming it`, () => {
      assert.throws(
        () => createClickGenerator({ seed: 1, count: 10, startMs: START_MS, [option]: value }),
        (error: unknown) => error instanceof ClickGeneratorOptionsError && error.option === option && error.code === 'invalid_options',
      );
    });
  }

  await t.test('when duplicateRatio + invalidRatio exceed 1, then the generator refuses', () => {
    assert.throws(
      () => createClickGenerator({ seed: 1, count: 10, startMs: START_MS, duplicateRatio: 0.6, invalidRatio: 0.6 }),
      ClickGeneratorOptionsError,
    );
  });
});
