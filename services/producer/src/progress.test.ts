import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { createLogger } from '@clickstream/observability';
import { createProgressReporter, progressLogDue, progressModeFor } from './progress.ts';
import { formatSummary } from './producer-summary.ts';
import type { ProducerSummary } from './producer-summary.ts';

/** A stream that keeps what is written to it; `isTTY` pretends to be a terminal. */
function captureStream(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream: PassThrough & { isTTY?: boolean; columns?: number } = new PassThrough();
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 160;
  }
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

const summary: ProducerSummary = {
  topic: 'clicks',
  requested: 1_000,
  sent: 1_000,
  valid: 900,
  duplicate: 50,
  invalid: 50,
  durationMs: 2_500,
  ratePerSec: 400,
  stoppedBy: null,
};

describe('progressModeFor', () => {
  for (const [isTTY, mode] of [
    [true, 'bar'],
    [false, 'log'],
    [undefined, 'log'],
  ] as const) {
    test(`when isTTY is ${String(isTTY)}, then the mode is ${mode}`, () =>
      assert.equal(progressModeFor(isTTY === undefined ? {} : { isTTY }), mode));
  }
});

describe('progressLogDue', () => {
  const base = { total: 1_000, lastSent: 0, lastLoggedMs: 0, nowMs: 1_000, intervalMs: 5_000 };
  const cases: { when: string; state: Partial<typeof base> & { sent: number }; due: boolean }[] = [
    { when: 'less than a tenth is done and little time passed', state: { sent: 99 }, due: false },
    { when: 'the first tenth is completed', state: { sent: 100 }, due: true },
    { when: 'a batch jumps over several tenths', state: { sent: 350, lastSent: 90 }, due: true },
    { when: 'still within the tenth already logged', state: { sent: 180, lastSent: 120 }, due: false },
    { when: '5 s passed since the last line', state: { sent: 120, lastSent: 110, lastLoggedMs: 0, nowMs: 5_000 }, due: true },
    { when: 'just under 5 s passed', state: { sent: 120, lastSent: 110, lastLoggedMs: 0, nowMs: 4_999 }, due: false },
    { when: 'the last message went out (the summary follows)', state: { sent: 1_000, lastSent: 900, nowMs: 60_000 }, due: false },
    { when: 'nothing new since the last line', state: { sent: 500, lastSent: 500, nowMs: 60_000 }, due: false },
    { when: 'the total is smaller than ten', state: { sent: 1, total: 3 }, due: true },
  ];
  for (const { when, state, due } of cases) {
    test(`when ${when}, then a line is ${due ? '' : 'not '}due`, () => assert.equal(progressLogDue({ ...base, ...state }), due));
  }
});

describe('createProgressReporter', () => {
  test('when not a terminal, then one JSON line per tenth, with count, rate and elapsed time, then the summary', () => {
    const out = captureStream(false);
    const logger = createLogger({ service: 'producer', level: 'info', destination: out.stream }).child({ topic: 'clicks' });
    let now = 0;
    const progress = createProgressReporter({ mode: 'log', total: 1_000, logger, stream: out.stream, nowMs: () => now });
    for (let sent = 50; sent <= 1_000; sent += 50) {
      now += 100;
      progress.update({ sent, valid: sent, duplicate: 0, invalid: 0 });
    }
    progress.finish(summary);
    assert.equal(out.text().match(/"topic"/g)?.length, 10, 'the topic once per line');
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const producing = lines.filter((line) => line.msg === 'producing');
    assert.deepEqual(
      producing.map((line) => line.sent),
      [100, 200, 300, 400, 500, 600, 700, 800, 900],
    );
    assert.deepEqual(producing[0], {
      ...producing[0],
      service: 'producer',
      level: 'info',
      topic: 'clicks',
      total: 1_000,
      percent: 10,
      ratePerSec: 500,
      elapsedMs: 200,
    });
    assert.deepEqual(lines.at(-1), {
      ...lines.at(-1),
      msg: 'produced',
      sent: 1_000,
      valid: 900,
      duplicate: 50,
      invalid: 50,
      ratePerSec: 400,
      durationMs: 2_500,
    });
  });

  test('when a terminal, then a bar with the count and the rate, and a text summary under it', () => {
    const out = captureStream(true);
    const logger = createLogger({ service: 'producer', level: 'info', destination: out.stream });
    let now = 0;
    const progress = createProgressReporter({ mode: 'bar', total: 1_000, logger, stream: out.stream, nowMs: () => now });
    now = 1_000;
    progress.update({ sent: 500, valid: 500, duplicate: 0, invalid: 0 });
    progress.finish(summary);
    const text = out.text();
    assert.match(text, /producing \|.*\| 50% \| 500\/1000 msgs \| 500 msg\/s \| elapsed \S+ \| ETA /);
    assert.ok(text.trimEnd().endsWith(formatSummary(summary)), text);
    assert.doesNotMatch(text, /"msg"/, 'no JSON in the terminal display');
  });

  test('when silent, then nothing is written', () => {
    const out = captureStream(true);
    const logger = createLogger({ service: 'producer', level: 'info', destination: out.stream });
    const progress = createProgressReporter({ mode: 'none', total: 10, logger, stream: out.stream, nowMs: () => 0 });
    progress.update({ sent: 10, valid: 10, duplicate: 0, invalid: 0 });
    progress.finish(summary);
    assert.equal(out.text(), '');
  });
});

describe('formatSummary', () => {
  test('when the run completed, then it says what was sent, how fast, and of which kind', () => {
    assert.equal(formatSummary(summary), 'sent 1000/1000 messages to clicks: 900 valid, 50 duplicate, 50 invalid in 2.50 s (400 msg/s)');
  });
  test('when the run was stopped, then it says by what', () => {
    assert.match(
      formatSummary({ ...summary, sent: 300, stoppedBy: 'SIGINT' }),
      /^sent 300\/1000 messages to clicks \(stopped by SIGINT\): /,
    );
  });
});
