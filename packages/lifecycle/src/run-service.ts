import { ConfigError } from '@clickstream/config';
import { createLogger } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import { localServersHint } from './local-servers-hint.ts';
import { startService } from './service-lifecycle.ts';
import type { LifecycleConfig, RunningService, ServiceDefinition } from './service-lifecycle.ts';

/** Where the stop signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

export interface RunServiceOptions<C extends LifecycleConfig, A> {
  env: Record<string, string | undefined>;
  /** What the process does once started; resolves with the exit code. Default: run until stopped. */
  run?: (service: RunningService<C, A>) => Promise<number>;
  /** Default: `process`. */
  signals?: SignalSource;
  /** Default: a root logger on stdout (tests pass their own). */
  logger?: Logger;
}

/**
 * A service's whole process: starts it, stops it on SIGTERM/SIGINT (also one received while it
 * starts: then it stops as soon as it has started; the same signal a second time kills at once),
 * and resolves with the exit code: 0 after a clean stop, 1 after a fatal error, a failed start or
 * a configuration error. A configuration error or failed start is logged as one JSON line.
 */
export async function runService<C extends LifecycleConfig, A>(
  definition: ServiceDefinition<C, A>,
  options: RunServiceOptions<C, A>,
): Promise<number> {
  const signals = options.signals ?? process;
  // Listening from the very start: a signal while the service still starts (an orchestrator's
  // rolling update catching a replica that is connecting) stops it once started, instead of the
  // signal's default action killing the process.
  let service: RunningService<C, A> | undefined;
  let stopAsked = false;
  const onSignal = (): void => {
    if (stopAsked) return;
    stopAsked = true;
    if (service) void service.stop();
  };
  // Listening until stopped, not once: a terminal's Ctrl-C reaches the process and its launcher,
  // which passes it on, and a second signal without a listener would kill the process mid-drain.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) signals.on(signal, onSignal);
  try {
    try {
      service = await startService(definition, options.env, options.logger ? { logger: options.logger } : {});
    } catch (err) {
      // LOG_LEVEL itself may be the wrong variable: this line is logged at the default level.
      const logger = options.logger ?? createLogger({ service: definition.name, level: 'info' });
      if (err instanceof ConfigError) logger.fatal({ code: err.code, variables: err.variables }, err.message);
      else logger.fatal({ err, hint: localServersHint(err) }, `${definition.name} failed to start`);
      return 1;
    }
    if (stopAsked) {
      await service.stop();
      return await service.stopped;
    }
    return options.run ? await options.run(service) : await service.stopped;
  } finally {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) signals.off(signal, onSignal);
  }
}

/**
 * Ends the process with `code` once the event loop drains, or after 1 s at the latest: client
 * libraries may keep timers alive after everything was closed.
 */
export function exitProcess(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(), 1_000).unref();
}
