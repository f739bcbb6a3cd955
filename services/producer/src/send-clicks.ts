import type { GeneratedMessage } from '@clickstream/clickgen';
import type { OutgoingMessage } from '@clickstream/kafka';
import type { MessageCounts } from './producer-summary.ts';
import { KafkaSendError } from './producer-errors.ts';

/**
 * Sends generated messages in batches of `batchSize`, one batch in flight at a time, each batch
 * only once `pace` allows it. Stops before the next batch once `signal` is aborted or `pace`
 * returns false (a batch already handed to `send` is awaited and counted, never abandoned).
 * Resolves with the acknowledged counts and whether it stopped early; rejects with
 * {@link KafkaSendError} (carrying the counts so far) when `send` rejects.
 */
export async function sendClicks(options: {
  messages: Iterable<GeneratedMessage>;
  topic: string;
  send: (messages: readonly OutgoingMessage[]) => Promise<void>;
  batchSize: number;
  pace: (size: number) => Promise<boolean>;
  signal?: AbortSignal;
  onBatch?: (counts: Readonly<MessageCounts>) => void;
}): Promise<{ counts: MessageCounts; stopped: boolean }> {
  const { messages, topic, send, batchSize, pace, signal, onBatch } = options;
  const counts: MessageCounts = { sent: 0, valid: 0, duplicate: 0, invalid: 0 };
  const iterator = messages[Symbol.iterator]();
  let done = false;
  while (!done) {
    if (signal?.aborted) return { counts, stopped: true };
    const batch: GeneratedMessage[] = [];
    while (batch.length < batchSize) {
      const next = iterator.next();
      if (next.done === true) {
        done = true;
        break;
      }
      batch.push(next.value);
    }
    if (batch.length === 0) break;
    if (!(await pace(batch.length)) || signal?.aborted) return { counts, stopped: true };
    try {
      await send(batch.map((message) => ({ key: message.key, value: message.value })));
    } catch (err) {
      throw new KafkaSendError(topic, counts, { cause: err });
    }
    counts.sent += batch.length;
    for (const message of batch) counts[message.kind] += 1;
    onBatch?.(counts);
  }
  return { counts, stopped: false };
}
