import type { GeneratedInvalidReason } from './generated-message.ts';
import type { Random } from './random.ts';

/** Every kind of malformed message the generator writes, drawn with equal probability. */
export const GENERATED_INVALID_REASONS: readonly GeneratedInvalidReason[] = Object.freeze([
  'invalid_json',
  'missing_field',
  'invalid_url',
  'invalid_ip',
  'timestamp_in_future',
]);

/** What an otherwise well-formed message would carry; one rule of the contract is then broken. */
export interface InvalidMessageBase {
  readonly eventId: string;
  readonly userId: string;
  readonly timeMs: number;
  readonly url: string;
  readonly ip: string;
  readonly userAgent: string;
}

const BAD_URLS = [
  'not a url',
  'ftp://files.example.com/catalog.zip',
  'javascript:alert(1)',
  'www.shop.example/no-scheme',
  'http//www.shop.example/typo',
  'https://exa mple.com/',
];
const BAD_IPS = ['999.12.0.1', '256.256.256.256', '10.0.0', '1.2.3.4.5', 'not-an-ip', '2001:db8::g1'];
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * A message that breaks exactly the rule named by `reason` (the key is null for values that are not
 * JSON). Future timestamps are 25 hours to 30 days after `nowMs`, beyond the 24-hour tolerance.
 */
export function buildInvalidMessage(
  reason: GeneratedInvalidReason,
  base: InvalidMessageBase,
  nowMs: number,
  random: Random,
): { key: string | null; value: string } {
  const body: Record<string, string | number> = {
    event_id: base.eventId,
    user_id: base.userId,
    timestamp: new Date(base.timeMs).toISOString(),
    url: base.url,
    ip: base.ip,
    user_agent: base.userAgent,
  };
  switch (reason) {
    case 'invalid_json':
      return { key: null, value: notJson(JSON.stringify(body), base, random) };
    case 'missing_field':
      delete body['user_id'];
      break;
    case 'invalid_url':
      body['url'] = random.pick(BAD_URLS);
      break;
    case 'invalid_ip':
      body['ip'] = random.pick(BAD_IPS);
      break;
    case 'timestamp_in_future': {
      const futureMs = nowMs + random.int(25 * HOUR_MS, 30 * DAY_MS);
      body['timestamp'] = random.chance(0.5) ? futureMs : new Date(futureMs).toISOString();
      break;
    }
  }
  return { key: base.userId, value: JSON.stringify(body) };
}

function notJson(json: string, base: InvalidMessageBase, random: Random): string {
  const variant = random.int(0, 2);
  let value =
    variant === 0
      ? // A truncated write.
        json.slice(0, random.int(1, json.length - 2))
      : variant === 1
        ? `user_id=${encodeURIComponent(base.userId)}&url=${encodeURIComponent(base.url)}&ts=${base.timeMs}`
        : json.replaceAll('"', "'");
  // Exactly nine comma-separated fields would be read as the seeds' CSV shape.
  while (value.split(',').length === 9) value = value.slice(0, -1);
  return value;
}
