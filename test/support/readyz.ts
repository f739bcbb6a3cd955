import { pollUntil } from './stack-clients.ts';

/** What `/readyz` of a service answered: its status and, when not ready, its reason. */
export interface ReadyzAnswer {
  status: number;
  reason?: string;
}

/** Asks `/readyz` of the service whose ops port is `port`. */
export async function readyz(port: number): Promise<ReadyzAnswer> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  const { reason } = (await response.json()) as { reason?: string };
  return { status: response.status, ...(reason === undefined ? {} : { reason }) };
}

/**
 * Polls `/readyz` until it answers `status` or `timeoutMs` passes; returns the last answer and how
 * long it took (printed by the tests: the 5 s bound of interface.md is the probe's design, pinned by
 * its unit tests, not a timed assertion here).
 */
export async function readyzTurns(port: number, status: number, timeoutMs: number): Promise<{ answer: ReadyzAnswer; tookMs: number }> {
  const since = Date.now();
  const answer = await pollUntil(
    () => readyz(port),
    (a) => a.status === status,
    timeoutMs,
    100,
  );
  return { answer, tookMs: Date.now() - since };
}
