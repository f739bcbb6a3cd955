import { createLagReader } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import { Counter, Gauge, Histogram } from '@clickstream/observability';
import type { Logger, Registry } from '@clickstream/observability';

/** The ingest service's Prometheus metrics. */
export function createIngestMetrics(registry: Registry) {
  return {
    consumed: new Counter({ name: 'ingest_events_consumed_total', help: 'messages read from the topic', registers: [registry] }),
    stored: new Counter({ name: 'ingest_events_stored_total', help: 'valid events written to Cassandra', registers: [registry] }),
    invalid: new Counter({
      name: 'ingest_events_invalid_total',
      help: 'invalid messages sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    hintsIgnored: new Counter({
      name: 'ingest_hints_ignored_total',
      help: 'pre-enriched hints (country, region, city, browser, os, device) left out as unsound, by hint; the click is stored',
      labelNames: ['hint'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'ingest_retries_total',
      help: 'retried writes, by target',
      labelNames: ['target'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'ingest_batch_duration_seconds',
      help: 'time from receiving a batch to having it durably written (before the offset commit)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'ingest_consumer_lag',
      help: 'messages not yet committed in each partition this replica owns (end offset - committed offset), read from the brokers periodically',
      labelNames: ['partition'],
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

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
