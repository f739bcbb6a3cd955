import { Counter, Gauge, Histogram } from '@clickstream/observability';
import type { Registry } from '@clickstream/observability';

/** The outcome of one scheduled run: done, failed (markers kept for the next run), or skipped (another replica held the lease). */
export type RunOutcome = 'success' | 'failure' | 'skipped';

/** The aggregator's Prometheus metrics. */
export function createAggregatorMetrics(registry: Registry) {
  return {
    runs: new Counter({
      name: 'aggregator_runs_total',
      help: 'aggregation runs, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    runSeconds: new Histogram({
      name: 'aggregator_run_duration_seconds',
      help: 'duration of an aggregation run, by outcome',
      labelNames: ['outcome'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    documents: new Counter({
      name: 'aggregator_documents_written_total',
      help: 'metric documents written to Elasticsearch, by action (indexed, deleted)',
      labelNames: ['action'],
      registers: [registry],
    }),
    pendingHours: new Gauge({
      name: 'aggregator_pending_hours',
      help: 'distinct hours with pending markers at the start of the last run',
      registers: [registry],
    }),
    openWindows: new Gauge({
      name: 'aggregator_open_windows',
      help: 'hour and day windows indexed as not final, at the start of the last run',
      registers: [registry],
    }),
    quarantined: new Counter({
      name: 'aggregator_documents_quarantined_total',
      help: 'metric documents Elasticsearch refused for good (or too large to send), recorded in the quarantine index and skipped',
      registers: [registry],
    }),
    excludedUsers: new Counter({
      name: 'aggregator_users_excluded_total',
      help: 'users left out of an hour because they alone had more events in it than AGGREGATOR_MAX_EVENTS_IN_MEMORY (once per hour and run)',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'aggregator_retries_total',
      help: 'retried Cassandra/Elasticsearch calls, by target',
      labelNames: ['target'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: 'aggregator_last_success_timestamp_seconds',
      help: 'end of the last successful run, Unix time',
      registers: [registry],
    }),
  };
}

export type AggregatorMetrics = ReturnType<typeof createAggregatorMetrics>;
