/**
 * A stored click event as the metric definitions see it.
 *
 * Times are epoch milliseconds (UTC). `timeSpentMs` is the time spent the client reported, in
 * milliseconds, or null when the event did not carry one.
 */
export type MetricEvent = {
  readonly eventId: string;
  readonly userId: string;
  readonly sessionId: string | null;
  readonly eventTimeMs: number;
  readonly urlKey: string;
  readonly country: string;
  readonly timeSpentMs: number | null;
  readonly isBot: boolean;
};
