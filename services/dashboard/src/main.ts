/**
 * Dashboard service wiring: config -> logger -> Elasticsearch client -> the page, its JSON API
 * (/api/*) and the ops endpoints on one HTTP port, run by the shared lifecycle. Reads the metrics
 * alias only; the browser never talks to Elasticsearch.
 */
import {
  metricsUnreadableReason,
  checkCredentialsAccepted,
  checkMetricsReadable,
  createElasticsearchClient,
  elasticsearchConnectionOf,
} from '@clickstream/elasticsearch';
import { parseCommandLine } from '@clickstream/config';
import { exitProcess, runService, watchDependency, startService } from '@clickstream/lifecycle';
import type { RunningService, ServiceDefinition } from '@clickstream/lifecycle';
import { Counter, Gauge, Histogram } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import { loadDashboardConfig } from './config.ts';
import type { DashboardConfig } from './config.ts';
import { createDashboardApi } from './dashboard-api.ts';
import { createDashboardHandler, loadAssets } from './dashboard-routes.ts';
import { createQueryGate } from './query-gate.ts';

export type DashboardService = RunningService<DashboardConfig, void>;

/** Nothing to drain: requests in flight are short reads, and closing the port ends them. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The dashboard as the lifecycle runs it: ready while Elasticsearch answers. */
export const dashboardService: ServiceDefinition<DashboardConfig, void> = {
  name: 'dashboard',
  loadConfig: loadDashboardConfig,
  shutdownTimeoutMs: () => SHUTDOWN_TIMEOUT_MS,
  async start({ config, logger, registry, onClose, addReadinessCheck, serveHttp }) {
    const requests = new Counter({
      name: 'dashboard_http_requests_total',
      help: 'page and API requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    const queryDuration = new Histogram({
      name: 'dashboard_api_duration_seconds',
      help: 'API calls (Elasticsearch queries and the wait for a slot included) by route and outcome: ok, bad_request, busy, unavailable, error',
      labelNames: ['route', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const gate = createQueryGate({
      maxInFlight: config.DASHBOARD_MAX_CONCURRENT_QUERIES,
      maxWaiting: config.DASHBOARD_MAX_QUEUED_QUERIES,
      maxWaitMs: config.DASHBOARD_QUERY_TIMEOUT_MS,
    });
    new Gauge({
      name: 'dashboard_api_in_flight',
      help: 'API calls querying Elasticsearch now (at most DASHBOARD_MAX_CONCURRENT_QUERIES)',
      registers: [registry],
      collect() {
        this.set(gate.inFlight());
      },
    });
    new Gauge({
      name: 'dashboard_api_queued',
      help: 'API calls waiting for a slot now (at most DASHBOARD_MAX_QUEUED_QUERIES)',
      registers: [registry],
      collect() {
        this.set(gate.waiting());
      },
    });
    const client = createElasticsearchClient(
      { ...elasticsearchConnectionOf(config), requestTimeoutMs: config.DASHBOARD_QUERY_TIMEOUT_MS },
      logger.child({ component: 'elasticsearch' }),
    );
    onClose('elasticsearch', () => client.close());
    const alias = config.ELASTICSEARCH_INDEX;

    // Refused credentials stop the start (exit 1 naming Elasticsearch): a dashboard that runs,
    // never ready, would hide them behind "Elasticsearch does not answer".
    await checkCredentialsAccepted(client, alias, config.DASHBOARD_READINESS_INTERVAL_MS);
    // Ready while the metrics can be read: checked every interval, each check within the interval.
    const elasticsearchProbe = watchDependency(
      { onClose, addReadinessCheck },
      {
        dependency: 'Elasticsearch',
        check: () => checkMetricsReadable(client, alias, config.DASHBOARD_READINESS_INTERVAL_MS),
        intervalMs: config.DASHBOARD_READINESS_INTERVAL_MS,
        timeoutMs: config.DASHBOARD_READINESS_INTERVAL_MS,
        reasonOf: metricsUnreadableReason,
        logger,
      },
    );
    await elasticsearchProbe.checkNow();

    serveHttp(
      createDashboardHandler({
        assets: loadAssets(),
        api: createDashboardApi({
          client,
          alias,
          queryTimeoutMs: config.DASHBOARD_QUERY_TIMEOUT_MS,
          gate,
          now: Date.now,
          queryDuration,
          logger,
        }),
        requests,
      }),
    );
    logger.info({ port: config.HTTP_PORT, alias }, 'dashboard running');
  },
};

/** Starts the dashboard (tests); `env` is the environment to configure it from. */
export function startDashboard(env: Record<string, string | undefined>, logger?: Logger): Promise<DashboardService> {
  return startService(dashboardService, env, logger ? { logger } : {});
}

if (import.meta.main) {
  parseCommandLine({}, 'usage: npm run dashboard   (no arguments; configured by environment variables)');
  exitProcess(await runService(dashboardService, { env: process.env }));
}
