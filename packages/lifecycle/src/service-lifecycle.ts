import { createLogger, createMetricsRegistry, startOpsServer } from '@clickstream/observability';
import type { FallbackHandler, Liveness, Logger, LogLevel, Readiness, Registry } from '@clickstream/observability';
import { withDeadline } from './with-deadline.ts';
import { localServersHint } from './local-servers-hint.ts';

/**
 * The states a service goes through, in this order: `starting` (config parsed, ops endpoint up,
 * clients connecting), `running` (start finished), `stopping` (draining, then closing), `stopped`.
 * A failed start goes from `starting` to `stopping` and `stopped` as well.
 */
export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped';

/** The variables the lifecycle itself reads from every service's configuration. */
export interface LifecycleConfig {
  readonly LOG_LEVEL: LogLevel;
  readonly HTTP_PORT: number;
}

/** What a service's `start` receives: its configuration, logger and metrics, and the lifecycle hooks. */
export interface ServiceContext<C extends LifecycleConfig> {
  readonly config: C;
  readonly logger: Logger;
  readonly registry: Registry;
  /**
   * Registers what `stop` does first, within the shutdown deadline: finish the work in flight
   * (stop consuming, wait for a run). Drains run one after another in registration order; when the
   * deadline passes, each drain's `onTimeout` runs (abandon or abort the work) and stopping goes on.
   */
  readonly onDrain: (name: string, drain: () => Promise<void> | void, onTimeout?: () => Promise<void> | void) => void;
  /** Registers a resource to close once the drains are over; closes run together, each failure logged. */
  readonly onClose: (name: string, close: () => Promise<void> | void) => void;
  /** Adds a condition to `/readyz`: the service is ready once running and every check says ready. */
  readonly addReadinessCheck: (check: () => Readiness) => void;
  /** Adds a condition to `/healthz`: it fails (and the orchestrator restarts the pod) while a check says unhealthy. */
  readonly addLivenessCheck: (check: () => Liveness) => void;
  /** Serves the HTTP port's other paths (a service's own pages); the ops paths stay the lifecycle's. */
  readonly serveHttp: (handler: FallbackHandler) => void;
  /** The service cannot continue: logs the error, stops the service, and makes the exit code 1. */
  readonly fail: (err: unknown, message: string) => void;
}

/** One service, as the lifecycle runs it. `A` is what `start` returns: the service's own API (e.g. `runOnce`). */
export interface ServiceDefinition<C extends LifecycleConfig, A> {
  /** The `service` field of every log line and the `app` label of every metric. */
  readonly name: string;
  /** Parses and freezes the configuration; throws ConfigError naming the wrong variables. */
  loadConfig(env: Record<string, string | undefined>): C;
  /** How long the drains may take on stop before their work is abandoned. */
  shutdownTimeoutMs(config: C): number;
  /** Connects and starts the work; registers what stopping needs as it goes. */
  start(context: ServiceContext<C>): Promise<A>;
}

/** A started service. */
export interface RunningService<C extends LifecycleConfig, A> {
  readonly config: C;
  readonly api: A;
  readonly httpPort: number;
  state(): ServiceState;
  /** Resolves with the exit code (0, or 1 after `fail`) once stopped, by `stop()` or a fatal error. */
  readonly stopped: Promise<number>;
  /**
   * Stops the service (idempotent); never rejects. `exitCode`: the code to report when the
   * caller's own work failed (`--once`); a fatal error's 1 stands either way.
   */
  stop(exitCode?: number): Promise<void>;
}

export interface StartOptions {
  /** A logger to use instead of a new root logger (tests). */
  logger?: Logger;
  /** Longest wait for the resources to close after the drains. Default 5 s. */
  closeTimeoutMs?: number;
}

interface Step {
  readonly name: string;
  run(): Promise<void> | void;
}
interface Drain extends Step {
  readonly onTimeout?: () => Promise<void> | void;
}

/**
 * Starts a service: parses its configuration (throws ConfigError before anything else happens),
 * creates its logger and metrics registry, opens its ops endpoint (`/healthz`, `/readyz`,
 * `/metrics` on HTTP_PORT, not ready while starting), and runs its `start`. When `start` throws
 * (or the service fails while starting), what it registered is closed and the error is rethrown.
 */
export async function startService<C extends LifecycleConfig, A>(
  definition: ServiceDefinition<C, A>,
  env: Record<string, string | undefined>,
  options: StartOptions = {},
): Promise<RunningService<C, A>> {
  const config = definition.loadConfig(env);
  const logger = options.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL });
  const registry = createMetricsRegistry(definition.name);
  const drains: Drain[] = [];
  const closes: Step[] = [];
  const readinessChecks: (() => Readiness)[] = [];
  const livenessChecks: (() => Liveness)[] = [];
  let fallback: FallbackHandler | undefined;
  let state: ServiceState = 'starting';
  let exitCode = 0;
  let startFailure: { err: unknown } | undefined;

  const readiness = (): Readiness => {
    if (state !== 'running') return { ready: false, reason: state === 'starting' ? 'starting' : 'shutting down' };
    for (const check of readinessChecks) {
      const result = check();
      if (!result.ready) return result;
    }
    return { ready: true };
  };
  // Liveness only while running: a slow start or a shutdown in progress must not get the pod killed.
  const liveness = (): Liveness => {
    if (state !== 'running') return { healthy: true };
    for (const check of livenessChecks) {
      const result = check();
      if (!result.healthy) return result;
    }
    return { healthy: true };
  };
  const ops = await startOpsServer({ port: config.HTTP_PORT, registry, readiness, liveness, fallback: () => fallback, logger });

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const timeoutMs = definition.shutdownTimeoutMs(config);

  const stop = (code?: number): Promise<void> => {
    if (code !== undefined && stopping === undefined) exitCode = Math.max(exitCode, code);
    stopping ??= (async () => {
      state = 'stopping';
      logger.info({ timeoutMs }, 'stopping');
      const drained = await withDeadline(runInOrder(drains, logger), timeoutMs);
      if (drained === 'timeout') {
        logger.warn({ timeoutMs }, 'shutdown deadline passed: abandoning the work in flight');
        await runTogether(
          drains.flatMap((d) => (d.onTimeout ? [{ name: d.name, run: d.onTimeout }] : [])),
          logger,
          closeTimeoutMs,
        );
      }
      await runTogether(closes, logger, closeTimeoutMs);
      await ops.close();
      state = 'stopped';
      logger.info({ exitCode }, 'stopped');
      resolveStopped(exitCode);
    })();
    return stopping;
  };

  const fail = (err: unknown, message: string): void => {
    logger.fatal({ err, hint: localServersHint(err) }, message);
    exitCode = 1;
    if (state === 'starting') startFailure ??= { err };
    else void stop();
  };

  const context: ServiceContext<C> = {
    config,
    logger,
    registry,
    onDrain: (name, drain, onTimeout) => drains.push({ name, run: drain, ...(onTimeout ? { onTimeout } : {}) }),
    onClose: (name, close) => closes.push({ name, run: close }),
    addReadinessCheck: (check) => readinessChecks.push(check),
    addLivenessCheck: (check) => livenessChecks.push(check),
    serveHttp: (handler) => (fallback = handler),
    fail,
  };

  let api: A;
  try {
    api = await definition.start(context);
  } catch (err) {
    exitCode = 1;
    await stop();
    throw err;
  }
  if (startFailure) {
    await stop();
    throw startFailure.err;
  }
  state = 'running';
  return { config, api, httpPort: ops.port, state: () => state, stopped, stop };
}

/** Runs the steps one after another; a step that throws is logged and the next one still runs. */
async function runInOrder(steps: readonly Step[], logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      logger.error({ err, step: step.name }, 'a shutdown step failed; going on with the next');
    }
  }
}

/** Runs the steps together, waiting at most `timeoutMs`; each failure or overrun is logged. */
async function runTogether(steps: readonly Step[], logger: Logger, timeoutMs: number): Promise<void> {
  await Promise.all(
    steps.map(async (step) => {
      try {
        if (
          (await withDeadline(
            Promise.resolve().then(() => step.run()),
            timeoutMs,
          )) === 'timeout'
        )
          logger.warn({ step: step.name, timeoutMs }, 'a shutdown step did not finish in time; leaving it');
      } catch (err) {
        logger.error({ err, step: step.name }, 'a shutdown step failed; going on with the others');
      }
    }),
  );
}
