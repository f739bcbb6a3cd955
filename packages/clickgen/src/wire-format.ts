import type { GeneratedClick } from './generated-message.ts';
import type { TimestampStyle } from './user-profiles.ts';

/**
 * Writes an instant the way a client of the given style would, and returns the instant the text
 * denotes: the zone-less `YYYY-MM-DD HH:MM:SS` style has whole seconds, so it rounds down (and
 * falls back to ISO when rounding down would leave the range starting at `notBeforeMs`).
 */
export function formatTimestamp(
  timeMs: number,
  style: TimestampStyle,
  utcOffsetMinutes: number,
  notBeforeMs: number,
): { timestamp: string | number; eventTimeMs: number } {
  if (style === 'epoch') return { timestamp: timeMs, eventTimeMs: timeMs };
  if (style === 'iso-offset') {
    const local = new Date(timeMs + utcOffsetMinutes * 60_000).toISOString().slice(0, -1);
    const sign = utcOffsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(utcOffsetMinutes);
    const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return { timestamp: local + offset, eventTimeMs: timeMs };
  }
  const wholeSecondMs = Math.floor(timeMs / 1000) * 1000;
  if (style === 'zoneless' && wholeSecondMs >= notBeforeMs) {
    return { timestamp: new Date(wholeSecondMs).toISOString().slice(0, 19).replace('T', ' '), eventTimeMs: wholeSecondMs };
  }
  return { timestamp: new Date(timeMs).toISOString(), eventTimeMs: timeMs };
}

/** The JSON message value of a click: snake_case fields in a fixed order, absent fields omitted. */
export function toMessageValue(click: GeneratedClick): string {
  const body: Record<string, string | number> = {
    event_id: click.eventId,
    user_id: click.userId,
  };
  if (click.sessionId !== null) body['session_id'] = click.sessionId;
  body['timestamp'] = click.timestamp;
  body['url'] = click.url;
  if (click.referrer !== null) body['referrer'] = click.referrer;
  if (click.ip !== null) body['ip'] = click.ip;
  if (click.country !== null) body['country'] = click.country;
  if (click.userAgent !== null) body['user_agent'] = click.userAgent;
  if (click.timeSpentMs !== null) body['time_spent_ms'] = click.timeSpentMs;
  return JSON.stringify(body);
}
