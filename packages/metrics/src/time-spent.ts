import type { MetricEvent } from './metric-event.ts';
import { compareCodePoints } from './ordering.ts';
import { SESSION_GAP_MS } from './windows.ts';

/** Which rule of the spec gave an event its time spent. */
export type TimeSpentSource = 'provided' | 'next-event' | 'unknown';

/** A counted event (non-bot, one per `eventId`) with its time spent resolved by the spec's rules. */
export type CountedEvent = Omit<MetricEvent, 'timeSpentMs'> & {
  /** Time spent on this event in milliseconds, or null when unknown. */
  readonly timeSpentMs: number | null;
  readonly timeSpentSource: TimeSpentSource;
};

/**
 * Keeps the counted events and resolves each one's time spent, per the spec:
 * 1. the event's own `timeSpentMs` when it carries one (even 0);
 * 2. otherwise the gap to the same user's immediately next counted event, over all urls, in
 *    (`eventTimeMs`, `eventId`) order, when that gap is at most {@link SESSION_GAP_MS} and the
 *    two are in the same session (session ids must be equal only when both events carry one);
 * 3. otherwise unknown (null). A next event in another session gives unknown; it is not skipped.
 *
 * Counted events are the non-bot events, each `eventId` once. Copies of one `eventId` should be
 * identical; if they differ, the copy with the smallest content is kept, whatever the input order.
 * The time spent of an event is only as complete as its user's later events in `events`: pass
 * every event up to 30 minutes after the last one whose time spent matters.
 *
 * Pure and deterministic: the result depends on the set of events, not their order.
 *
 * @returns the counted events ordered by (`eventTimeMs`, `eventId` by code point).
 */
export function assignTimeSpent(events: readonly MetricEvent[]): CountedEvent[] {
  const counted: CountedEvent[] = [];
  visitCountedEvents(events, (event, resolved) => counted.push({ ...event, ...resolved }));
  return counted.sort(compareEventOrder);
}

/**
 * {@link assignTimeSpent} without building or ordering its result: calls `visit` once per counted
 * event with its resolved time spent, user by user (each user's events in order). For a caller
 * that only adds the events up (an hour's aggregation): no copy and no sort of all the events.
 */
export function visitCountedEvents(
  events: readonly MetricEvent[],
  visit: (event: MetricEvent, resolved: Pick<CountedEvent, 'timeSpentMs' | 'timeSpentSource'>) => void,
): void {
  const eventsByUser = new Map<string, MetricEvent[]>();
  for (const event of keepOneCopyPerEventId(events)) {
    if (event.isBot) {
      continue;
    }
    const userEvents = eventsByUser.get(event.userId);
    if (userEvents === undefined) {
      eventsByUser.set(event.userId, [event]);
    } else {
      userEvents.push(event);
    }
  }
  for (const userEvents of eventsByUser.values()) {
    if (userEvents.length > 1) userEvents.sort(compareEventOrder);
    for (let index = 0; index < userEvents.length; index += 1) {
      const event = userEvents[index] as MetricEvent;
      visit(event, resolveTimeSpent(event, userEvents[index + 1]));
    }
  }
}

function resolveTimeSpent(event: MetricEvent, nextEvent: MetricEvent | undefined): Pick<CountedEvent, 'timeSpentMs' | 'timeSpentSource'> {
  if (event.timeSpentMs !== null) {
    return { timeSpentMs: event.timeSpentMs, timeSpentSource: 'provided' };
  }
  if (nextEvent !== undefined && isSameSession(event, nextEvent)) {
    const gapMs = nextEvent.eventTimeMs - event.eventTimeMs;
    if (gapMs <= SESSION_GAP_MS) {
      return { timeSpentMs: gapMs, timeSpentSource: 'next-event' };
    }
  }
  return { timeSpentMs: null, timeSpentSource: 'unknown' };
}

function isSameSession(event: MetricEvent, nextEvent: MetricEvent): boolean {
  return event.sessionId === null || nextEvent.sessionId === null || event.sessionId === nextEvent.sessionId;
}

function compareEventOrder(a: Pick<MetricEvent, 'eventTimeMs' | 'eventId'>, b: Pick<MetricEvent, 'eventTimeMs' | 'eventId'>): number {
  return a.eventTimeMs - b.eventTimeMs || compareCodePoints(a.eventId, b.eventId);
}

function keepOneCopyPerEventId(events: readonly MetricEvent[]): Iterable<MetricEvent> {
  const eventsById = new Map<string, MetricEvent>();
  for (const event of events) {
    const kept = eventsById.get(event.eventId);
    eventsById.set(event.eventId, kept === undefined ? event : canonicalCopy(kept, event));
  }
  return eventsById.values();
}

function canonicalCopy(a: MetricEvent, b: MetricEvent): MetricEvent {
  return compareCodePoints(contentKey(a), contentKey(b)) <= 0 ? a : b;
}

function contentKey(event: MetricEvent): string {
  return JSON.stringify([event.eventTimeMs, event.userId, event.sessionId, event.urlKey, event.country, event.timeSpentMs, event.isBot]);
}
