import type { GeneratedClickMessage } from '@clickstream/clickgen';
import type { ReferenceEvent } from '../reference/reference-metrics.ts';
import { toReferenceEvent } from './metric-comparison.ts';

/** A late click: the Kafka message to send and what the reference should count for it. */
export interface LateClick {
  readonly key: string;
  readonly value: string;
  readonly reference: ReferenceEvent;
}

/**
 * Late clicks by the same users as `originals`: each is a copy of an original click `shiftMs`
 * later, under a new event id, without `time_spent_ms` for every other one (so its time spent
 * comes from the gap to the user's next click). Copies of the same users make the late events
 * change both counts and, through new pairs of consecutive clicks, time spent.
 */
export function lateCopies(originals: readonly GeneratedClickMessage[], idPrefix: string, shiftMs: number): LateClick[] {
  return originals.map((original, index) => {
    const body = JSON.parse(original.value) as Record<string, unknown>;
    const eventTimeMs = original.event.eventTimeMs + shiftMs;
    body['event_id'] = `${idPrefix}-${index}`;
    body['timestamp'] = new Date(eventTimeMs).toISOString();
    if (index % 2 === 1) delete body['time_spent_ms'];
    const timeSpentMs = typeof body['time_spent_ms'] === 'number' ? body['time_spent_ms'] : null;
    return {
      key: original.key,
      value: JSON.stringify(body),
      reference: { ...toReferenceEvent(original.event), eventId: `${idPrefix}-${index}`, eventTimeMs, timeSpentMs },
    };
  });
}
