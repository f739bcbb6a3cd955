import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createIngestHealth } from './ingest-health.ts';

function clocked(): { health: ReturnType<typeof createIngestHealth>; advance: (ms: number) => void } {
  let nowMs = 0;
  const health = createIngestHealth({ storeStallMs: 3_000, progressStallMs: 60_000, now: () => nowMs });
  return { health, advance: (ms) => (nowMs += ms) };
}

test('when a store write has not returned for the stall time, then readiness fails before the write does, and recovers when it returns', async () => {
  const { health, advance } = clocked();
  let finish!: () => void;
  const write = health.track(new Promise<void>((resolve) => (finish = resolve)));
  advance(2_999);
  assert.deepEqual(health.readiness(), { ready: true });
  advance(1);
  assert.equal(health.readiness().ready, false);
  finish();
  await write;
  assert.deepEqual(health.readiness(), { ready: true });
});

test('when writes are retrying, then it is not ready until every retrying step is over', () => {
  const { health } = clocked();
  health.setRetrying(true);
  health.setRetrying(true);
  health.setRetrying(false);
  assert.equal(health.readiness().ready, false, 'one of two retrying steps is still retrying');
  health.setRetrying(false);
  assert.equal(health.readiness().ready, true);
});

const liveness: { when: string; steps: (h: ReturnType<typeof clocked>) => void; healthy: boolean }[] = [
  { when: 'there is no lag for a long time', steps: ({ health, advance }) => (health.setLag(0), advance(600_000)), healthy: true },
  {
    when: 'lag stays with no commit past the stall time',
    steps: ({ health, advance }) => (health.setLag(5), advance(60_000), health.setLag(5)),
    healthy: false,
  },
  {
    when: 'lag stays but offsets are committed',
    steps: ({ health, advance }) => (health.setLag(5), advance(50_000), health.progressed(), advance(50_000)),
    healthy: true,
  },
  {
    when: 'lag appears after a long idle time',
    steps: ({ health, advance }) => (advance(600_000), health.setLag(5), advance(1_000)),
    healthy: true,
  },
];
for (const c of liveness) {
  test(`when ${c.when}, then liveness is ${c.healthy ? 'healthy' : 'unhealthy'}`, () => {
    const h = clocked();
    c.steps(h);
    const result = h.health.liveness();
    assert.equal(result.healthy, c.healthy);
    if (!c.healthy) assert.match(result.reason ?? '', /no offset committed/);
  });
}

test('when the wall clock steps back an hour while a store write hangs, then readiness still fails after the stall time (its own clock is monotonic)', async () => {
  const realNow = Date.now.bind(Date);
  let stepMs = 0;
  mock.method(Date, 'now', () => realNow() + stepMs);
  try {
    const health = createIngestHealth({ storeStallMs: 1, progressStallMs: 60_000 });
    void health.track(new Promise<void>(() => undefined));
    stepMs = -3_600_000;
    await sleep(5);
    assert.equal(health.readiness().ready, false, 'the write has hung for more than 1 ms');
  } finally {
    mock.restoreAll();
  }
});
