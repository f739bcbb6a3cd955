import type { z } from 'zod';
import {
  durationMs,
  elasticsearchEnv,
  httpEnv,
  loggingEnv,
  nonNegativeInt,
  parseConfig,
  positiveInt,
  serviceConfigSchema,
} from '@clickstream/config';

/** Every environment variable the dashboard reads, with defaults and descriptions. */
export const dashboardEnvShape = {
  ...loggingEnv,
  HTTP_PORT: httpEnv(8083).HTTP_PORT.describe('port of the page, its JSON API (/api/*), /healthz, /readyz and /metrics'),
  ELASTICSEARCH_URL: elasticsearchEnv.ELASTICSEARCH_URL,
  ELASTICSEARCH_INDEX: elasticsearchEnv.ELASTICSEARCH_INDEX.describe('alias the metric documents are read through'),
  ELASTICSEARCH_API_KEY: elasticsearchEnv.ELASTICSEARCH_API_KEY,
  ELASTICSEARCH_USERNAME: elasticsearchEnv.ELASTICSEARCH_USERNAME,
  ELASTICSEARCH_PASSWORD: elasticsearchEnv.ELASTICSEARCH_PASSWORD,
  DASHBOARD_QUERY_TIMEOUT_MS: durationMs(10_000).describe('longest wait for one Elasticsearch query before the API answers 503'),
  DASHBOARD_MAX_CONCURRENT_QUERIES: positiveInt(16).describe(
    'API calls that query Elasticsearch at once (each holds its response in memory); more wait for a slot',
  ),
  DASHBOARD_MAX_QUEUED_QUERIES: nonNegativeInt(64).describe(
    'API calls that wait for a slot, each at most DASHBOARD_QUERY_TIMEOUT_MS; more are answered 503 busy at once',
  ),
  DASHBOARD_READINESS_INTERVAL_MS: durationMs(2_000).describe(
    'how often /readyz checks that Elasticsearch answers (within the same time), so it turns 503 within twice this',
  ),
};

// The checks every service gets: a user name without its password stops the start, not a 401 later.
export const dashboardConfigSchema = serviceConfigSchema(dashboardEnvShape);
export type DashboardConfig = Readonly<z.output<typeof dashboardConfigSchema>>;

/** Parses and freezes the dashboard configuration; throws ConfigError naming the wrong variables. */
export function loadDashboardConfig(env: Record<string, string | undefined>): DashboardConfig {
  return parseConfig(dashboardConfigSchema, env);
}
