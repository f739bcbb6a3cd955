import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { startDependencyProbe } from './dependency-probe.ts';
import type { DependencyProbe } from './dependency-probe.ts';

/** Polls `read` until `done` or `timeoutMs`; returns the last value (no fixed sleeps in tests). */
async function until<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(5);
  }
}

const never = (): Promise<void> => new Promise<void>(() => undefined);

/** A check whose behaviour the test switches: answers, rejects, or hangs until released. */
function switchableCheck() {
  let mode: 'ok' | 'reject' | 'hang' = 'ok';
  let running = 0;
  let mostAtOnce = 0;
  let calls = 0;
  const aborted: boolean[] = [];
  const check = async (signal: AbortSignal): Promise<void> => {
    calls++;
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    try {
      if (mode === 'reject') throw new Error('connection refused');
      if (mode === 'hang') {
        // Like a stalled server: nothing answers, and the abort is ignored for a while (a driver's own timeout ends it).
        await sleep(150);
        aborted.push(signal.aborted);
        throw new Error('request timed out');
      }
    } finally {
      running--;
    }
  };
  return {
    check,
    set: (next: typeof mode) => (mode = next),
    get calls() {
      return calls;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
    aborted,
  };
}

describe('startDependencyProbe', () => {
  const probes: DependencyProbe[] = [];
  const start = (options: Parameters<typeof startDependencyProbe>[0]): DependencyProbe => {
    const probe = startDependencyProbe(options);
    probes.push(probe);
    return probe;
  };
  const stopAll = (): void => {
    for (const probe of probes.splice(0)) probe.stop();
  };

  test('before its first check, then it is not ready and says the dependency was not checked yet', () => {
    const { logger } = capturedLogger();
    const probe = start({ dependency: 'Kafka', check: never, intervalMs: 60_000, timeoutMs: 1_000, logger });
    assert.deepEqual(probe.readiness(), { ready: false, reason: 'Kafka not checked yet' });
    stopAll();
  });

  test('when the check answers, then it is ready, and one info line says so', async () => {
    const { logger, lines } = capturedLogger();
    const fake = switchableCheck();
    const probe = start({ dependency: 'Kafka', check: fake.check, intervalMs: 10, timeoutMs: 100, logger });
    assert.deepEqual(await probe.checkNow(), { ready: true });
    await until(
      () => fake.calls,
      (n) => n >= 5,
    );
    assert.deepEqual(probe.readiness(), { ready: true });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [['info', 'Kafka answers']],
    );
    stopAll();
  });

  test('when the check rejects, then it is not ready naming the dependency, and the failure is logged once however often it repeats', async () => {
    const { logger, lines } = capturedLogger();
    const fake = switchableCheck();
    const probe = start({ dependency: 'Cassandra', check: fake.check, intervalMs: 10, timeoutMs: 100, logger });
    await probe.checkNow();
    fake.set('reject');
    const readiness = await until(
      () => probe.readiness(),
      (r) => !r.ready,
    );
    assert.deepEqual(readiness, { ready: false, reason: 'Cassandra does not answer' });
    const calls = fake.calls;
    await until(
      () => fake.calls,
      (n) => n >= calls + 5,
    );
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.msg, 'Cassandra does not answer');
    assert.match(String((warnings[0]?.err as { message?: string } | undefined)?.message), /connection refused/);
    stopAll();
  });

  test('when the check hangs past its timeout, then it counts as failed at the timeout, not when the check gives up', async () => {
    const { logger } = capturedLogger();
    const fake = switchableCheck();
    const probe = start({ dependency: 'Elasticsearch', check: fake.check, intervalMs: 10, timeoutMs: 40, logger });
    await probe.checkNow();
    fake.set('hang');
    const readiness = await until(
      () => probe.readiness(),
      (r) => !r.ready,
    );
    assert.deepEqual(readiness, { ready: false, reason: 'Elasticsearch does not answer within 40 ms' });
    // The reason is the timeout's: the verdict did not wait for the hung check, which never ends by itself.
    // The hung check was told to give up.
    await until(
      () => fake.aborted.length,
      (n) => n >= 1,
    );
    assert.equal(fake.aborted[0], true);
    stopAll();
  });

  test('when a check hangs for several intervals, then no second check starts until it has ended', async () => {
    const { logger } = capturedLogger();
    const fake = switchableCheck();
    fake.set('hang');
    start({ dependency: 'Kafka', check: fake.check, intervalMs: 5, timeoutMs: 20, logger });
    await until(
      () => fake.aborted.length,
      (n) => n >= 3,
    );
    assert.equal(fake.mostAtOnce, 1);
    stopAll();
  });

  test('when the dependency answers again, then it is ready again and one info line says so', async () => {
    const { logger, lines } = capturedLogger();
    const fake = switchableCheck();
    fake.set('reject');
    const probe = start({ dependency: 'Kafka', check: fake.check, intervalMs: 10, timeoutMs: 100, logger });
    assert.equal((await probe.checkNow()).ready, false);
    fake.set('ok');
    await until(
      () => probe.readiness(),
      (r) => r.ready,
    );
    const calls = fake.calls;
    await until(
      () => fake.calls,
      (n) => n >= calls + 5,
    );
    assert.deepEqual(probe.readiness(), { ready: true });
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ['warn', 'Kafka does not answer'],
        ['info', 'Kafka answers'],
      ],
    );
    stopAll();
  });

  test('when the reason changes, then it is logged again; `reasonOf` names what failed', async () => {
    const { logger, lines } = capturedLogger();
    let closed = true;
    const check = (): Promise<void> => Promise.reject(new Error(closed ? 'index closed' : 'refused'));
    const probe = start({
      dependency: 'Elasticsearch',
      check,
      intervalMs: 60_000,
      timeoutMs: 100,
      reasonOf: (err) =>
        err instanceof Error && err.message === 'index closed' ? 'the metrics index is closed' : 'Elasticsearch does not answer',
      logger,
    });
    assert.deepEqual(await probe.checkNow(), { ready: false, reason: 'the metrics index is closed' });
    await probe.checkNow();
    closed = false;
    assert.deepEqual(await probe.checkNow(), { ready: false, reason: 'Elasticsearch does not answer' });
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['the metrics index is closed', 'Elasticsearch does not answer'],
    );
    stopAll();
  });

  test('when no check has answered for longer than an interval past the timeout, then the last success counts as stale', async () => {
    const { logger } = capturedLogger();
    let nowMs = 1_000_000;
    const probe = start({
      dependency: 'Kafka',
      check: () => Promise.resolve(),
      intervalMs: 1_000,
      timeoutMs: 2_000,
      logger,
      now: () => nowMs,
    });
    await probe.checkNow();
    nowMs += 4_000;
    assert.deepEqual(probe.readiness(), { ready: true });
    nowMs += 1;
    assert.deepEqual(probe.readiness(), { ready: false, reason: 'Kafka has not answered for 4001 ms' });
    stopAll();
  });

  test('when stopped, then no further check runs and the one in flight is aborted', async () => {
    const { logger } = capturedLogger();
    const fake = switchableCheck();
    fake.set('hang');
    const probe = start({ dependency: 'Kafka', check: fake.check, intervalMs: 5, timeoutMs: 1_000, logger });
    await until(
      () => fake.calls,
      (n) => n >= 1,
    );
    probe.stop();
    const calls = fake.calls;
    await until(
      () => fake.aborted.length,
      (n) => n >= 1,
    );
    assert.equal(fake.aborted[0], true);
    // A window in which a running probe would have checked several times (every 5 ms).
    assert.equal(
      await until(
        () => fake.calls,
        (n) => n > calls,
        50,
      ),
      calls,
    );
    assert.deepEqual(await probe.checkNow(), probe.readiness());
    assert.equal(fake.calls, calls);
  });
});
