import type { Invalid } from './invalid-reason.ts';

/** A click that passed validation, normalised and ready for enrichment. */
export interface ClickEvent {
  eventId: string;
  userId: string;
  sessionId: string | null;
  eventTime: Date;
  /** As the producer sent it. */
  url: string;
  /** Aggregation key of the page, see `toUrlKey`. */
  urlKey: string;
  ip: string | null;
  userAgent: string | null;
  referrer: string | null;
  timeSpentMs: number | null;
  /** Pre-enriched by the producer when sound: an ISO 3166-1 alpha-2 code, upper case. */
  country: string | null;
  region: string | null;
  city: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
}

/** The stored row: the event after geo and user-agent enrichment and the IP policy. */
export interface EnrichedClick extends Omit<ClickEvent, 'country' | 'device'> {
  /** ISO 3166-1 alpha-2, `ZZ` when unknown. */
  country: string;
  browserVersion: string | null;
  osVersion: string | null;
  deviceType: string | null;
  isBot: boolean;
  ingestedAt: Date;
}

/** The pre-enriched fields of a click: hints, used only when sound. */
export type HintName = 'country' | 'region' | 'city' | 'browser' | 'os' | 'device';

/** A decoded click, with the hints it carried that were not sound and so were left out. */
export type DecodeResult = { ok: true; event: ClickEvent; ignoredHints: readonly HintName[] } | Invalid;
