// Test-only helpers shared by the colocated tests; not exported from the package.
import type { MetricEvent } from './metric-event.ts';

/** 2024-03-10T10:00:00.000Z, the start of the hour most tests use. */
export const HOUR_10_MS = Date.UTC(2024, 2, 10, 10);

export const MINUTE_MS = 60_000;

/** A counted, human event of user u1 in session s1 at 10:00 on /home from FR, without time spent. */
export function clickEvent(overrides: Partial<MetricEvent> & Pick<MetricEvent, 'eventId'>): MetricEvent {
  return {
    userId: 'u1',
    sessionId: 's1',
    eventTimeMs: HOUR_10_MS,
    urlKey: '/home',
    country: 'FR',
    timeSpentMs: null,
    isBot: false,
    ...overrides,
  };
}

/** `minutes` after 10:00, in epoch milliseconds. */
export function at(minutes: number, extraMs = 0): number {
  return HOUR_10_MS + minutes * MINUTE_MS + extraMs;
}
