import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduleWatchdog } from './schedule-watchdog.ts';

function watchdog(next: number | null) {
  const clock = { now: 0, next };
  const dog = createScheduleWatchdog({ nextRunMs: () => clock.next, nowMs: () => clock.now, toleranceMs: 1_000 });
  return { clock, dog };
}

test('when the schedule fires on time, then it stays healthy', () => {
  const { clock, dog } = watchdog(60_000);
  for (let minute = 1; minute <= 5; minute++) {
    clock.now = minute * 60_000 + 500;
    clock.next = (minute + 1) * 60_000;
    dog.fired();
    assert.deepEqual(dog.liveness(), { healthy: true });
  }
});

test('when the next firing is overdue by less than the tolerance, then it is still healthy', () => {
  const { clock, dog } = watchdog(60_000);
  clock.now = 61_000;
  assert.deepEqual(dog.liveness(), { healthy: true });
});

test('when the schedule stopped firing, then it is unhealthy with a reason', () => {
  const { clock, dog } = watchdog(60_000);
  clock.now = 61_001;
  const state = dog.liveness();
  assert.equal(state.healthy, false);
  assert.match(state.reason ?? '', /has not fired for 1 s/);
});

test('when the scheduler says it will not fire again, then it is unhealthy', () => {
  const { dog } = watchdog(null);
  assert.equal(dog.liveness().healthy, false);
});

test('when a late firing comes, then it is healthy again', () => {
  const { clock, dog } = watchdog(60_000);
  clock.now = 90_000;
  assert.equal(dog.liveness().healthy, false);
  clock.next = 120_000;
  dog.fired();
  assert.equal(dog.liveness().healthy, true);
});
