/** The contract breaks the generator makes: a subset of ingest's `InvalidReason` (@clickstream/events), each the reason ingest gives such a message. */
export type GeneratedInvalidReason = 'invalid_json' | 'missing_field' | 'invalid_url' | 'invalid_ip' | 'timestamp_in_future';

/**
 * One valid click as sent on the topic (camelCase of the snake_case fields; null = field absent),
 * plus the generator's ground truth in `expected`.
 */
export interface GeneratedClick {
  /** `evt-<seed>-<n>`, n zero-padded to 9 digits, numbered in event-time order. */
  readonly eventId: string;
  readonly userId: string;
  /** Absent for crawlers and for the few users whose client sends none. */
  readonly sessionId: string | null;
  /** As sent: ISO-8601 string (`Z`, a numeric offset, or the zone-less `YYYY-MM-DD HH:MM:SS` form) or epoch ms. */
  readonly timestamp: string | number;
  /** The instant `timestamp` denotes, epoch ms. */
  readonly eventTimeMs: number;
  /** As sent: absolute http(s) url or a path, sometimes with query, fragment or another spelling of the same page. */
  readonly url: string;
  readonly referrer: string | null;
  /** Public IPv4 address; null when the event carries a pre-enriched `country` instead. */
  readonly ip: string | null;
  /** Pre-enriched country as sent (ISO alpha-2, sometimes lower case), or null. */
  readonly country: string | null;
  readonly userAgent: string | null;
  readonly timeSpentMs: number | null;
  /** Not sent: what ingest should derive for this event. */
  readonly expected: {
    /** The page's url_key per the contract's normalisation. */
    readonly urlKey: string;
    /** Upper-case alpha-2: the pre-enriched country, or what geoip-lite gives for `ip`. */
    readonly country: string;
    /** Whether the user agent is a crawler or script (isbot should say so). */
    readonly isBot: boolean;
  };
}

/** A valid message, or a verbatim re-send of an earlier valid message. */
export interface GeneratedClickMessage {
  readonly kind: 'valid' | 'duplicate';
  /** The user id (producers key by user so one user's clicks stay in one partition). */
  readonly key: string;
  /** The JSON message value. */
  readonly value: string;
  readonly event: GeneratedClick;
  readonly invalidReason?: undefined;
}

/** A message that breaks the contract in exactly one way. */
export interface GeneratedInvalidMessage {
  readonly kind: 'invalid';
  /** The user id, or null for the values that are not JSON at all. */
  readonly key: string | null;
  readonly value: string;
  readonly event?: undefined;
  readonly invalidReason: GeneratedInvalidReason;
}

/** One Kafka message: key and value as a producer sends them, and what the generator meant by it. */
export type GeneratedMessage = GeneratedClickMessage | GeneratedInvalidMessage;
