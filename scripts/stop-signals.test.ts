import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { stopOnSignals, stopOnceAndOnSignals } from './stop-signals.ts';

/** A stop that finishes when told, and what happened meanwhile. */
function fakeCommand() {
  const signals = new EventEmitter();
  const events: string[] = [];
  let finish = (): void => undefined;
  let fail = (_err: Error): void => undefined;
  const stop = (signal: string): Promise<void> => {
    events.push(`stop ${signal}`);
    return new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
  };
  const exited = new Promise<number>((resolve) =>
    stopOnSignals(stop, {
      signals,
      exit: (code) => {
        events.push(`exit ${code}`);
        resolve(code);
      },
    }),
  );
  return { signals, events, exited, finish: () => finish(), fail: (err: Error) => fail(err) };
}

test('when a signal arrives, then the command stops what it started once, and exits with the signal code only after', async () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    const command = fakeCommand();
    command.signals.emit(signal);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(command.events, [`stop ${signal}`], `${signal}: stopping, not exited yet`);
    command.finish();
    assert.equal(await command.exited, code);
    assert.deepEqual(command.events, [`stop ${signal}`, `exit ${code}`]);
  }
});

test('when more signals arrive while it stops (Ctrl-C passed on by the launcher, pressed twice), then each finds a listener and none stops or exits again', async () => {
  const command = fakeCommand();
  command.signals.emit('SIGINT');
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGINT']) {
    // A signal without a listener would take its default action: the process killed mid-stop.
    assert.equal(command.signals.listenerCount(signal), 1, `${signal} still listened to`);
    command.signals.emit(signal);
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(command.events, ['stop SIGINT']);
  command.finish();
  assert.equal(await command.exited, 130);
  assert.deepEqual(command.events, ['stop SIGINT', 'exit 130']);
});

test('when stopping fails, then it still exits with the signal code', async (t) => {
  const errors = t.mock.method(console, 'error', () => undefined);
  const command = fakeCommand();
  command.signals.emit('SIGTERM');
  command.fail(new Error('stack:down could not reach kafka'));
  assert.equal(await command.exited, 143);
  assert.match(String(errors.mock.calls[0]?.arguments[0]), /SIGTERM failed: stack:down could not reach kafka/);
});

test('when the end of a command and a signal both stop it, then the stop runs once, and the signal waits for it before exiting', async () => {
  const signals = new EventEmitter();
  const events: string[] = [];
  let finish = (): void => undefined;
  const exited = new Promise<number>((resolve) => {
    const stop = stopOnceAndOnSignals(
      () => {
        events.push('stop');
        return new Promise<void>((done) => (finish = done));
      },
      (signal) => events.push(`announce ${signal}`),
      { signals, exit: resolve },
    );
    void stop();
    void stop();
    signals.emit('SIGHUP');
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['stop', 'announce SIGHUP']);
  finish();
  assert.equal(await exited, 129);
  assert.deepEqual(events, ['stop', 'announce SIGHUP']);
});
