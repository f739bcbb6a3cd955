import {
  MetricsIndexUnreadableError,
  clicksPerWindow,
  latestWindowStartMs,
  metricsFreshness,
  topOfWindow,
} from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import type { Histogram, Logger } from '@clickstream/observability';
import { malformedQueryIssues, parseClicksParams, parseFreshnessParams, parseTopParams, windowEndOf, windowStartOf } from './api-params.ts';
import type { ParamIssue } from './api-params.ts';
import type { QueryGate } from './query-gate.ts';

/** What an API call answers: an HTTP status and a JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Seconds after which the call may be sent again (the `retry-after` header); only when busy. */
  readonly retryAfterSeconds?: number;
}

/** The open windows the freshness panel lists at most. */
const OPEN_WINDOWS_SHOWN = 50;

/** The JSON API: the paths it serves, and the answer to a call of one of them. */
export interface DashboardApi {
  readonly paths: ReadonlySet<string>;
  /**
   * The answer to `path` with `query` (the raw text after `?`). Never rejects: bad parameters
   * (malformed percent-encoding among them) answer 400 naming each one, Elasticsearch not
   * answering or the metrics index closed 503, too many calls at once 503 `busy` (with
   * `retryAfterSeconds`), anything else 500 (logged).
   */
  answer(path: string, query: string): Promise<ApiResponse>;
}

/** The dashboard's JSON API over the metrics alias: `GET /api/clicks`, `/api/top` and `/api/freshness`. */
export function createDashboardApi(deps: {
  client: ElasticsearchClient;
  alias: string;
  queryTimeoutMs: number;
  /** Bounds the calls that query Elasticsearch at once (and so the dashboard's memory). */
  gate: QueryGate;
  now: () => number;
  queryDuration: Histogram;
  logger: Logger;
}): DashboardApi {
  const { client, alias, logger } = deps;
  const options = { timeoutMs: deps.queryTimeoutMs };

  const clicks = async (search: URLSearchParams): Promise<ApiResponse> => {
    const params = parseClicksParams(search, deps.now());
    if (!params.ok) return badRequest(params.issues);
    const { granularity, fromMs, toMs, url, country } = params.value;
    const points = await clicksPerWindow(client, alias, { granularity, fromMs, toMs, filter: { url, country } }, options);
    return {
      status: 200,
      body: { granularity, fromMs, toMs, filter: { url, country }, points, totalClicks: points.reduce((sum, p) => sum + p.clicks, 0) },
    };
  };

  const top = async (search: URLSearchParams): Promise<ApiResponse> => {
    const params = parseTopParams(search);
    if (!params.ok) return badRequest(params.issues);
    const { by, window, atMs, sort, limit, url, country } = params.value;
    const filter = { url, country };
    let startMs: number | null = null;
    if (window !== 'all') {
      startMs =
        atMs === undefined
          ? await latestWindowStartMs(client, alias, { granularity: window, filter }, options)
          : windowStartOf(window, atMs);
      if (startMs === null) {
        return {
          status: 200,
          body: {
            by,
            window: { granularity: window, startMs: null, endMs: null },
            sort,
            limit,
            filter,
            rows: [],
            keys: 0,
            keysExact: true,
            totalClicks: 0,
          },
        };
      }
    }
    const list = await topOfWindow(client, alias, { by, granularity: window, windowStartMs: startMs, filter, sort, limit }, options);
    const endMs = window === 'all' || startMs === null ? null : windowEndOf(window, startMs);
    return { status: 200, body: { by, window: { granularity: window, startMs, endMs }, sort, limit, filter, ...list } };
  };

  const freshness = async (search: URLSearchParams): Promise<ApiResponse> => {
    const params = parseFreshnessParams(search);
    if (!params.ok) return badRequest(params.issues);
    const result = await metricsFreshness(client, alias, { filter: params.value, limit: OPEN_WINDOWS_SHOWN }, options);
    return { status: 200, body: { ...result, filter: params.value, nowMs: deps.now() } };
  };

  const routes: Record<string, (search: URLSearchParams) => Promise<ApiResponse>> = {
    '/api/clicks': clicks,
    '/api/top': top,
    '/api/freshness': freshness,
  };

  const answer = (path: string, query: string): Promise<ApiResponse> => {
    const route = routes[path];
    if (route === undefined) return Promise.resolve({ status: 404, body: { error: 'not_found', message: `no API at ${path}` } });
    // URLSearchParams would read bad percent-encoding as U+FFFD and filter by that.
    const malformed = malformedQueryIssues(query);
    if (malformed.length > 0) return Promise.resolve(badRequest(malformed));
    const timer = deps.queryDuration.startTimer({ route: path });
    return deps.gate
      .run(() => route(new URLSearchParams(query)))
      .then(
        (admission) => {
          if (!admission.admitted) {
            timer({ outcome: 'busy' });
            return BUSY;
          }
          timer({ outcome: admission.value.status === 200 ? 'ok' : 'bad_request' });
          return admission.value;
        },
        (err: unknown) => {
          const unavailable = err instanceof Error && 'retriable' in err && err.retriable === true;
          timer({ outcome: unavailable ? 'unavailable' : 'error' });
          if (err instanceof MetricsIndexUnreadableError) {
            logger.warn({ err, route: path }, 'the metrics index cannot be read');
            return { status: 503, body: { error: err.code, message: err.message } };
          }
          if (unavailable) {
            logger.warn({ err, route: path }, 'Elasticsearch is not answering');
            return {
              status: 503,
              body: { error: 'elasticsearch_unavailable', message: 'Elasticsearch is not answering; the numbers cannot be read right now' },
            };
          }
          logger.error({ err, route: path }, 'dashboard query failed');
          return { status: 500, body: { error: 'internal', message: 'the query failed; see the dashboard log' } };
        },
      );
  };
  return { paths: new Set(Object.keys(routes)), answer };
}

/** The answer to a call the gate refused: the dashboard answers as many as it can hold already. */
const BUSY: ApiResponse = {
  status: 503,
  body: { error: 'busy', message: 'the dashboard is answering as many requests as it can; retry in a moment' },
  retryAfterSeconds: 1,
};

function badRequest(issues: ParamIssue[]): ApiResponse {
  const text = issues.map((issue) => `${issue.param}: ${issue.message}`).join('; ');
  return { status: 400, body: { error: 'bad_request', message: `bad query parameters: ${text}`, issues } };
}
