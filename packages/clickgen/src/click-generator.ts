import { createClickStream } from './click-stream.ts';
import type { GeneratedClickMessage, GeneratedMessage } from './generated-message.ts';
import type { ClickGeneratorOptions, ResolvedClickGeneratorOptions } from './generator-options.ts';
import { resolveOptions } from './generator-options.ts';
import { GENERATED_INVALID_REASONS, buildInvalidMessage } from './invalid-messages.ts';
import { createPageCatalog, renderPageUrl } from './page-catalog.ts';
import { createRandom } from './random.ts';
import { humanProfile, visitIp } from './user-profiles.ts';
import { toMessageValue } from './wire-format.ts';

const STREAM_CATALOG = 2;
const STREAM_MESSAGES = 3;
const STREAM_INVALID = 4;
/** Duplicates re-send one of this many latest valid messages, as a redelivered batch would. */
const RECENT_WINDOW = 1_000;

/**
 * Creates a seeded synthetic clickstream: exactly `count` Kafka messages (key and JSON value per
 * the event contract v2), of which round(count * invalidRatio) break one rule of the contract,
 * round(count * duplicateRatio) re-send one of the last 1,000 valid messages verbatim (one fewer
 * when that would leave no valid message to re-send), and the rest are valid clicks with
 * event times in [startMs, startMs + spanMs), round(valid * botRatio) of them from crawlers.
 *
 * Pure and deterministic: the same options give a byte-identical sequence on every run; the clock
 * is never read. Options are validated immediately (throws {@link ClickGeneratorOptionsError});
 * messages are produced lazily with memory bounded by the visits in progress, so `count` can be
 * in the millions.
 */
export function createClickGenerator(options: ClickGeneratorOptions): Generator<GeneratedMessage, void, undefined> {
  return generateMessages(resolveOptions(options));
}

function* generateMessages(options: ResolvedClickGeneratorOptions): Generator<GeneratedMessage, void, undefined> {
  const { count, seed } = options;
  let invalidLeft = Math.round(count * options.invalidRatio);
  let duplicateLeft = Math.min(Math.round(count * options.duplicateRatio), count - invalidLeft);
  let validLeft = count - invalidLeft - duplicateLeft;
  if (validLeft === 0 && duplicateLeft > 0) {
    // A duplicate needs an original.
    duplicateLeft -= 1;
    validLeft = 1;
  }
  const catalog = createPageCatalog(options.pages, createRandom(seed, STREAM_CATALOG));
  const clicks = createClickStream(options, validLeft, catalog);
  const random = createRandom(seed, STREAM_MESSAGES);
  const invalidRandom = createRandom(seed, STREAM_INVALID);
  const recent: GeneratedClickMessage[] = [];
  let recentNext = 0;
  let invalidSeq = 0;
  let streamTimeMs = options.startMs;

  for (let left = count; left > 0; left -= 1) {
    // Sampling without replacement over the remaining budgets gives exact totals, evenly spread.
    const duplicateWeight = recent.length > 0 ? duplicateLeft : 0;
    const draw = random.next() * (validLeft + duplicateWeight + invalidLeft);
    if (draw < validLeft) {
      validLeft -= 1;
      const event = clicks.next();
      if (event === undefined) throw new Error('clickgen: click stream ended before its budget');
      streamTimeMs = event.eventTimeMs;
      const message: GeneratedClickMessage = { kind: 'valid', key: event.userId, value: toMessageValue(event), event };
      if (recent.length < RECENT_WINDOW) recent.push(message);
      else recent[recentNext] = message;
      recentNext = (recentNext + 1) % RECENT_WINDOW;
      yield message;
    } else if (draw < validLeft + duplicateWeight) {
      duplicateLeft -= 1;
      const original = random.pick(recent);
      yield { ...original, kind: 'duplicate' };
    } else {
      invalidLeft -= 1;
      const reason = invalidRandom.pick(GENERATED_INVALID_REASONS);
      const profile = humanProfile(seed, invalidRandom.int(0, options.users - 1));
      const base = {
        eventId: `evt-${seed}-invalid-${invalidSeq}`,
        userId: profile.userId,
        timeMs: streamTimeMs,
        url: renderPageUrl(catalog.pickAny(invalidRandom), invalidRandom),
        ip: visitIp({ ...profile, preEnrichedCountry: null }, invalidRandom) ?? '192.0.2.1',
        userAgent: profile.userAgent ?? 'Mozilla/5.0',
      };
      invalidSeq += 1;
      const { key, value } = buildInvalidMessage(reason, base, options.nowMs, invalidRandom);
      yield { kind: 'invalid', key, value, invalidReason: reason };
    }
  }
}
