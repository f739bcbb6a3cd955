/**
 * How the commands that start servers (the demo, the test runner, the benchmarks) end on a
 * signal: they stop what they started first.
 */
import type { EventEmitter } from 'node:events';

/** The signals that end a command, with the exit code of each (128 + its number). */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

export type StopSignal = keyof typeof EXIT_CODES;

/** Where signals come from and how the process ends (tests pass fakes). */
export interface SignalIo {
  readonly signals: EventEmitter;
  readonly exit: (code: number) => void;
}

const PROCESS_IO: SignalIo = { signals: process, exit: (code) => process.exit(code) };

/**
 * On the first SIGINT, SIGTERM or SIGHUP, calls `stop` once, then exits with that signal's code
 * (after saying why, when `stop` fails). Later signals only wait for that stop: a terminal's
 * Ctrl-C reaches both this process and the launcher that passes it on, users press Ctrl-C twice,
 * and a signal without a listener would kill the process before it stopped what it started.
 */
export function stopOnSignals(stop: (signal: StopSignal) => Promise<void>, io: SignalIo = PROCESS_IO): void {
  let stopping = false;
  for (const signal of Object.keys(EXIT_CODES) as StopSignal[])
    io.signals.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void stop(signal)
        .catch((err: unknown) => console.error(`stopping after ${signal} failed: ${err instanceof Error ? err.message : String(err)}`))
        .then(() => io.exit(EXIT_CODES[signal]));
    });
}

/**
 * `stop` made to run once however often it is called, and called on the first stop signal too
 * (see {@link stopOnSignals}) after `announce`: what a command runs at its end, on failure and on
 * Ctrl-C alike, every caller waiting for the same run.
 */
export function stopOnceAndOnSignals(
  stop: () => Promise<void>,
  announce: (signal: StopSignal) => void,
  io: SignalIo = PROCESS_IO,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const once = (): Promise<void> => (running ??= stop());
  stopOnSignals(async (signal) => {
    announce(signal);
    await once();
  }, io);
  return once;
}
