import { buildDeadLetter, deadLetterKey, decodeClickMessage, serializeDeadLetter } from '@clickstream/events';
import type { ClickMessage, EnrichedClick, HintName, InvalidReason } from '@clickstream/events';
import type { Enricher } from '@clickstream/enrichment';
import { hoursAffectedBy } from '@clickstream/metrics';

/** A message for the dead-letter topic: the original key (cut to its bound), the serialised dead-letter record. */
export interface DeadLetterMessage {
  key: Buffer | null;
  value: string;
  reason: InvalidReason;
  offset: string;
}

/** What one batch of messages turns into, before anything is written. */
export interface ProcessedBatch {
  rows: EnrichedClick[];
  /** The message each row came from, index by index (for a `store_rejected` dead letter). */
  sources: ClickMessage[];
  deadLetters: DeadLetterMessage[];
  /** Hours whose metrics these rows can change (see `hoursAffectedBy`); bots change none. */
  affectedHoursMs: number[];
  /** Pre-enriched hints that were sent but not sound, so left out, counted by hint name. */
  ignoredHints: Partial<Record<HintName, number>>;
}

/**
 * The dead-letter message of `message`, rejected for `reason` at `at`: bounded whatever the
 * message's size (see `buildDeadLetter`), keyed by the original key cut to its bound.
 */
export function toDeadLetter(message: ClickMessage, reason: InvalidReason, text: string, at: Date): DeadLetterMessage {
  const record = buildDeadLetter({ ...message, reason, message: text, at });
  return { key: deadLetterKey(message.key), value: serializeDeadLetter(record), reason, offset: message.offset };
}

/**
 * The pure part of the ingest pipeline: decode -> validate -> enrich for every message of a
 * batch. Never throws for bad data: an invalid message becomes a dead letter with its reason.
 */
export function createBatchProcessor(dependencies: {
  enrich: Enricher;
  now: () => Date;
}): (messages: readonly ClickMessage[]) => ProcessedBatch {
  const { enrich, now } = dependencies;
  return (messages) => {
    const at = now();
    const rows: EnrichedClick[] = [];
    const sources: ClickMessage[] = [];
    const deadLetters: DeadLetterMessage[] = [];
    const hours = new Set<number>();
    const ignoredHints: Partial<Record<HintName, number>> = {};
    for (const message of messages) {
      const decoded = decodeClickMessage(message, at);
      if (!decoded.ok) {
        deadLetters.push(toDeadLetter(message, decoded.reason, decoded.message, at));
        continue;
      }
      for (const hint of decoded.ignoredHints) ignoredHints[hint] = (ignoredHints[hint] ?? 0) + 1;
      const row = enrich(decoded.event, at);
      rows.push(row);
      sources.push(message);
      if (!row.isBot) for (const hour of hoursAffectedBy(row.eventTime.getTime())) hours.add(hour);
    }
    return { rows, sources, deadLetters, affectedHoursMs: [...hours].sort((a, b) => a - b), ignoredHints };
  };
}
