import type { Logger, Readiness } from '@clickstream/observability';
import type { ServiceContext } from './service-lifecycle.ts';
import { withDeadline } from './with-deadline.ts';

/**
 * How often a service asks each dependency whether it answers. With DEPENDENCY_PROBE_TIMEOUT_MS,
 * a dependency that stalls right after a check fails the next one within 1 s + 2 s = 3 s: `/readyz`
 * answers 503 within the 5 s the interface promises (interface.md, "Each service's HTTP port").
 */
export const DEPENDENCY_PROBE_INTERVAL_MS = 1_000;

/**
 * How long one check may take before it counts as failed: a stalled server (SIGSTOP, a network
 * that holds packets) keeps its connections open and never answers, so only a timeout shows it.
 * Well above a healthy answer (milliseconds), well below the 5 s budget.
 */
export const DEPENDENCY_PROBE_TIMEOUT_MS = 2_000;

export interface DependencyProbeOptions {
  /** The dependency's name as operators know it ("Kafka"); every reason and log line names it. */
  dependency: string;
  /**
   * Resolves when the dependency answers, rejects when it does not. The signal aborts when the
   * check has had its `timeoutMs` or the probe stops; a check should also bound its own requests
   * (driver timeouts, no driver retries): the next check waits until this one has ended.
   */
  check: (signal: AbortSignal) => Promise<unknown>;
  intervalMs?: number;
  timeoutMs?: number;
  /** The reason `/readyz` gives for a rejection; `<dependency> does not answer` unless given. */
  reasonOf?: (err: unknown) => string;
  logger: Logger;
  now?: () => number;
}

export interface DependencyProbe {
  /** The last check's verdict (not ready before the first, or when the last success is stale). Never blocks. */
  readiness(): Readiness;
  /** Runs a check now (or waits for the verdict of the one in progress) and returns the readiness after it. */
  checkNow(): Promise<Readiness>;
  /** No further checks; the one in flight is aborted. Idempotent. */
  stop(): void;
}

/**
 * Checks a dependency every `intervalMs` (default DEPENDENCY_PROBE_INTERVAL_MS), each check
 * counting as failed when it rejects or has not answered within `timeoutMs` (default
 * DEPENDENCY_PROBE_TIMEOUT_MS), and keeps the last verdict for `/readyz`. Never runs two checks
 * at once: a tick while one is still running is skipped. Logs transitions only: a warning when it
 * fails (or fails for another reason), info when it answers (again). A success older than an
 * interval past the next check's timeout counts as stale (not ready): timers that did not fire
 * must not leave an old "ready" standing.
 */
export function startDependencyProbe(options: DependencyProbeOptions): DependencyProbe {
  const { dependency, check, logger } = options;
  const intervalMs = options.intervalMs ?? DEPENDENCY_PROBE_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? DEPENDENCY_PROBE_TIMEOUT_MS;
  const reasonOf = options.reasonOf ?? (() => `${dependency} does not answer`);
  const now = options.now ?? Date.now;
  const staleAfterMs = 2 * intervalMs + timeoutMs;

  let last: Readiness = { ready: false, reason: `${dependency} not checked yet` };
  let answeredAtMs = 0;
  let stopped = false;
  // The verdict of the check in progress (settles at its timeout at the latest).
  let verdict: Promise<Readiness> | undefined;
  // The check itself, which may outlive its verdict: no other starts until it has ended.
  let running: Promise<unknown> | undefined;
  let controller: AbortController | undefined;

  const record = (next: Readiness, err?: unknown): Readiness => {
    if (next.ready) {
      answeredAtMs = now();
      if (!last.ready) logger.info({ dependency }, `${dependency} answers`);
    } else if (last.ready || last.reason !== next.reason) {
      logger.warn({ dependency, err }, next.reason);
    }
    last = next;
    return next;
  };

  const runCheck = async (): Promise<Readiness> => {
    const abort = new AbortController();
    controller = abort;
    const work = Promise.resolve().then(() => check(abort.signal));
    running = work.then(
      () => undefined,
      () => undefined,
    );
    void running.finally(() => (running = undefined));
    try {
      if ((await withDeadline(work, timeoutMs)) === 'done') return stopped ? last : record({ ready: true });
      abort.abort(new Error(`${dependency} did not answer within ${timeoutMs} ms`));
      return stopped ? last : record({ ready: false, reason: `${dependency} does not answer within ${timeoutMs} ms` });
    } catch (err) {
      return stopped ? last : record({ ready: false, reason: reasonOf(err) }, err);
    }
  };

  const checkNow = (): Promise<Readiness> => {
    if (verdict) return verdict;
    if (stopped || running) return Promise.resolve(readiness());
    verdict = runCheck().finally(() => (verdict = undefined));
    return verdict;
  };

  const readiness = (): Readiness => {
    if (!last.ready) return last;
    const silentMs = now() - answeredAtMs;
    return silentMs > staleAfterMs ? { ready: false, reason: `${dependency} has not answered for ${silentMs} ms` } : last;
  };

  const timer = setInterval(() => void checkNow(), intervalMs);
  // Stopping is the lifecycle's job (onClose); a forgotten probe must not keep the process alive.
  timer.unref();

  return {
    readiness,
    checkNow,
    stop() {
      stopped = true;
      clearInterval(timer);
      controller?.abort(new Error('dependency probe stopped'));
    },
  };
}

/**
 * A service's dependency watched for its `/readyz`: the probe is started, counts in the service's
 * readiness, and stops when the service closes.
 */
export function watchDependency(
  context: Pick<ServiceContext<never>, 'onClose' | 'addReadinessCheck'>,
  options: DependencyProbeOptions,
): DependencyProbe {
  const probe = startDependencyProbe(options);
  context.onClose(`${options.dependency} readiness probe`, () => probe.stop());
  context.addReadinessCheck(() => probe.readiness());
  return probe;
}
