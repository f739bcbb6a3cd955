import { createLagReader } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import type { Logger } from '@clickstream/observability';
import type { IngestMetrics } from './ingest-metrics.ts';

/**
 * Reads the consumer lag of the partitions this replica owns every `intervalMs` from the brokers
 * (so it keeps moving when the consumer stalls), sets `ingest_consumer_lag{partition}` for them and
 * removes the series of partitions no longer owned (after a rebalance).
 */
export function startLagMonitor(
  kafka: KafkaClient,
  options: {
    groupId: string;
    topic: string;
    intervalMs: number;
    assigned: () => readonly number[];
    metrics: IngestMetrics;
    onLag: (total: number) => void;
    logger: Logger;
  },
): { stop(): Promise<void> } {
  const reader = createLagReader(kafka, options.groupId, options.topic);
  const shown = new Set<number>();
  let running: Promise<void> | undefined;
  const poll = async (): Promise<void> => {
    try {
      const owned = new Set(options.assigned());
      const lags = (await reader.read()).filter((p) => owned.has(p.partition));
      for (const partition of shown) {
        if (!owned.has(partition)) {
          options.metrics.lag.remove({ partition: String(partition) });
          shown.delete(partition);
        }
      }
      for (const { partition, lag } of lags) {
        options.metrics.lag.set({ partition: String(partition) }, lag);
        shown.add(partition);
      }
      options.onLag(lags.reduce((sum, p) => sum + p.lag, 0));
    } catch (err) {
      options.logger.debug({ err }, 'reading the consumer lag failed');
    }
  };
  const timer = setInterval(() => {
    running ??= poll().finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await reader.close().catch(() => undefined);
    },
  };
}
