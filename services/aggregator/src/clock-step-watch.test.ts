import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClockStepWatch } from './clock-step-watch.ts';

const HOUR_MS = 3_600_000;

function watch() {
  const clock = { wall: Date.UTC(2026, 10, 26, 21), monotonic: 5_000 };
  const steps: number[] = [];
  const w = createClockStepWatch({
    wallMs: () => clock.wall,
    monotonicMs: () => clock.monotonic,
    toleranceMs: 1_000,
    onStep: (s) => steps.push(s),
  });
  const advance = (monotonicMs: number, wallMs = monotonicMs) => {
    clock.monotonic += monotonicMs;
    clock.wall += wallMs;
    w.check();
  };
  return { advance, steps };
}

test('table: how far the wall clock moved against the monotonic one, and the step reported', async (t) => {
  const cases: { when: string; monotonicMs: number; wallMs: number; steps: number[] }[] = [
    { when: 'both advance a second', monotonicMs: 1_000, wallMs: 1_000, steps: [] },
    { when: 'the wall clock drifts 0.5 s (NTP slewing)', monotonicMs: 1_000, wallMs: 1_500, steps: [] },
    { when: 'the wall clock steps back an hour', monotonicMs: 1_000, wallMs: 1_000 - HOUR_MS, steps: [-HOUR_MS] },
    { when: 'the wall clock steps forward a day', monotonicMs: 1_000, wallMs: 1_000 + 24 * HOUR_MS, steps: [24 * HOUR_MS] },
    { when: 'the wall clock stands still for 3 s', monotonicMs: 3_000, wallMs: 0, steps: [-3_000] },
  ];
  for (const c of cases) {
    await t.test(`when ${c.when}, then the steps are ${JSON.stringify(c.steps)}`, () => {
      const { advance, steps } = watch();
      advance(c.monotonicMs, c.wallMs);
      assert.deepEqual(steps, c.steps);
    });
  }
});

test('when the wall clock stepped once, then later checks report nothing more', () => {
  const { advance, steps } = watch();
  advance(1_000, 1_000 - HOUR_MS);
  advance(1_000);
  advance(60_000);
  assert.deepEqual(steps, [-HOUR_MS]);
});
