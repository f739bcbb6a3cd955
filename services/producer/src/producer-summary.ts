/** Messages acknowledged by Kafka so far, by what the generator meant them to be. */
export interface MessageCounts {
  sent: number;
  valid: number;
  duplicate: number;
  invalid: number;
}

/** What one producer run did; `sent` = valid + duplicate + invalid, every one acknowledged by Kafka. */
export interface ProducerSummary extends Readonly<MessageCounts> {
  readonly topic: string;
  /** Messages asked for (`--count`); more than `sent` when the run was stopped. */
  readonly requested: number;
  readonly durationMs: number;
  /** Acknowledged messages per second over the whole run. */
  readonly ratePerSec: number;
  /** The signal that stopped the run early, or null when it sent everything. */
  readonly stoppedBy: string | null;
}

/** Messages per second, rounded to a whole number (0 before any time has passed). */
export function ratePerSec(sent: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((sent * 1000) / elapsedMs) : 0;
}

/** The one-line human summary printed under the progress bar. */
export function formatSummary(summary: ProducerSummary): string {
  const { sent, requested, topic, valid, duplicate, invalid, durationMs } = summary;
  const stopped = summary.stoppedBy === null ? '' : ` (stopped by ${summary.stoppedBy})`;
  return (
    `sent ${sent}/${requested} messages to ${topic}${stopped}: ${valid} valid, ${duplicate} duplicate, ${invalid} invalid` +
    ` in ${(durationMs / 1000).toFixed(2)} s (${summary.ratePerSec} msg/s)`
  );
}
