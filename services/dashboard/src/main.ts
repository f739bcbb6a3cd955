/**
 * Dashboard service wiring: config -> logger -> Elasticsearch client -> one HTTP port serving the
 * page, its JSON API (/api/*) and the ops endpoints. Reads the metrics alias only; the browser
 * never talks to Elasticsearch.
 */
import { ConfigError } from '@clickstream/config';
import { checkMetricsReadable, createElasticsearchClient, elasticsearchConnectionOf } from '@clickstream/elasticsearch';
import { Counter, Histogram, createLogger, createMetricsRegistry, startOpsServer } from '@clickstream/observability';
import type { Logger, Readiness } from '@clickstream/observability';
import { loadDashboardConfig } from './config.ts';
import type { DashboardConfig } from './config.ts';
import { createDashboardApi } from './dashboard-api.ts';
import { createDashboardHandler, loadAssets } from './dashboard-routes.ts';

export interface DashboardService {
  readonly config: DashboardConfig;
  readonly httpPort: number;
  /** Resolves with the exit code once the service stopped. */
  readonly stopped: Promise<number>;
  /** Graceful shutdown: not ready, close the HTTP port and the Elasticsearch client. */
  stop(): Promise<void>;
}

/** Starts the dashboard; `env` is the environment to configure it from. */
export async function startDashboard(env: Record<string, string | undefined>, logger?: Logger): Promise<DashboardService> {
  const config = loadDashboardConfig(env);
  const log = logger ?? createLogger({ service: 'dashboard', level: config.LOG_LEVEL });
  const registry = createMetricsRegistry('dashboard');
  const requests = new Counter({
    name: 'dashboard_http_requests_total',
    help: 'page and API requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const queryDuration = new Histogram({
    name: 'dashboard_api_duration_seconds',
    help: 'API calls (Elasticsearch queries included) by route and outcome: ok, bad_request, unavailable, error',
    labelNames: ['route', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const client = createElasticsearchClient(
    { ...elasticsearchConnectionOf(config), requestTimeoutMs: config.DASHBOARD_QUERY_TIMEOUT_MS },
    log.child({ component: 'elasticsearch' }),
  );
  const alias = config.ELASTICSEARCH_INDEX;
  let readiness: Readiness = { ready: false, reason: 'starting' };
  let stopping: Promise<void> | undefined;

  // Ready while Elasticsearch answers: checked every interval, each check within the interval.
  const checkReadiness = async (): Promise<void> => {
    try {
      await checkMetricsReadable(client, alias, config.DASHBOARD_READINESS_INTERVAL_MS);
      if (!stopping) {
        if (!readiness.ready) log.info({ alias }, 'Elasticsearch answers: ready');
        readiness = { ready: true };
      }
    } catch (err) {
      if (!stopping) {
        if (readiness.ready || readiness.reason === 'starting') log.warn({ err }, 'Elasticsearch does not answer: not ready');
        readiness = { ready: false, reason: 'Elasticsearch does not answer' };
      }
    }
  };
  let checking = false;
  const readinessTimer = setInterval(() => {
    if (checking) return;
    checking = true;
    void checkReadiness().finally(() => (checking = false));
  }, config.DASHBOARD_READINESS_INTERVAL_MS);

  const ops = await startOpsServer({
    port: config.HTTP_PORT,
    registry,
    readiness: () => readiness,
    logger: log,
    handle: createDashboardHandler({
      assets: loadAssets(),
      api: createDashboardApi({
        client,
        alias,
        queryTimeoutMs: config.DASHBOARD_QUERY_TIMEOUT_MS,
        now: Date.now,
        queryDuration,
        logger: log,
      }),
      requests,
      logger: log,
    }),
  });
  await checkReadiness();

  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      readiness = { ready: false, reason: 'shutting down' };
      clearInterval(readinessTimer);
      await Promise.allSettled([ops.close(), client.close()]);
      log.info({ exitCode: 0 }, 'stopped');
      resolveStopped(0);
    })();
    return stopping;
  };
  log.info({ port: ops.port, alias, url: `http://localhost:${ops.port}/` }, 'dashboard running');
  return { config, httpPort: ops.port, stopped, stop };
}

/** Runs the service until SIGTERM/SIGINT; exits 1 on bad configuration. */
async function main(): Promise<void> {
  let service: DashboardService;
  try {
    service = await startDashboard(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`dashboard: ${err.message}`);
    } else {
      createLogger({ service: 'dashboard', level: 'info' }).fatal({ err }, 'dashboard failed to start');
    }
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void service.stop());
  process.exitCode = await service.stopped;
}

if (import.meta.main) await main();
