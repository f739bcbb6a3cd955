import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followClock } from './cassandra-clock.ts';

const NOW = Date.UTC(2026, 10, 26, 22);

function fakes(readings: (number | Error)[]) {
  const local = { monotonicMs: 1_000 };
  const read = (): Promise<number> => {
    const next = readings.shift();
    if (next === undefined) throw new Error('no more readings');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { local, options: { read, intervalMs: 3_600_000, monotonicMs: () => local.monotonicMs } };
}

test("when the followed clock was read, then its time advances with the monotonic clock, whatever this node's wall clock says", async () => {
  const { local, options } = fakes([NOW]);
  const clock = await followClock(options);
  try {
    assert.equal(clock.nowMs(), NOW);
    local.monotonicMs += 1_500;
    assert.equal(clock.nowMs(), NOW + 1_500);
  } finally {
    clock.stop();
  }
});

test('when it is read again, then the new reading wins; when a reading fails, then the last one is kept', async () => {
  const { local, options } = fakes([NOW, NOW + 60_000 + 250, new Error('timed out')]);
  const clock = await followClock(options);
  try {
    local.monotonicMs += 60_000;
    await clock.refresh();
    assert.equal(clock.nowMs(), NOW + 60_250, 'the other clock ran 250 ms faster: its reading corrects it');
    local.monotonicMs += 1_000;
    await clock.refresh();
    assert.equal(clock.nowMs(), NOW + 61_250);
  } finally {
    clock.stop();
  }
});

test('when the first reading fails, then following fails', async () => {
  const { options } = fakes([new Error('no host')]);
  await assert.rejects(followClock(options), /no host/);
});
