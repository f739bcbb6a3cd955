/**
 * `npm run query -- --url <url> [--country US] [--granularity hour|day|all] [--from ISO] [--to ISO] [--limit N]`:
 * clicks, unique users and average time spent of one page from the Elasticsearch metric
 * documents (alias ELASTICSEARCH_INDEX at ELASTICSEARCH_URL), as a table. The url may be written
 * as the events carry it: it is normalised to its url_key as ingest does.
 */
import { parseArgs } from 'node:util';
import { ConfigError, elasticsearchEnv, parseConfig, serviceConfigSchema } from '@clickstream/config';
import { createElasticsearchClient, elasticsearchConnectionOf, searchMetrics, topMetrics } from '@clickstream/elasticsearch';
import type { ElasticsearchConnection } from '@clickstream/elasticsearch';
import type { MetricDocument } from '@clickstream/metrics';
import { toUrlKey } from '@clickstream/events';
import { createLogger } from '@clickstream/observability';
import type { Granularity } from '@clickstream/metrics';

export const QUERY_USAGE =
  'usage: npm run query -- --url <url or path> [--country US] [--granularity hour|day|all] [--from ISO-8601] [--to ISO-8601] [--limit N]';
const GRANULARITIES = ['hour', 'day', 'all'] as const;

/** A question to the metrics: one url, maybe one country, one granularity, maybe a time range (hour/day). */
export interface MetricsQuestion {
  readonly url: string;
  readonly country?: string;
  readonly granularity: (typeof GRANULARITIES)[number];
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
}

/** The command line is wrong; the message says how. */
export class QueryArgsError extends Error {
  override readonly name = 'QueryArgsError';
  readonly code = 'query_args_invalid';
  readonly retriable = false;
}

/**
 * Parses the command line. `--granularity` defaults to `hour` when a time range is given and to
 * `all` otherwise; `--from`/`--to` are ISO-8601 instants and only fit hour and day windows.
 *
 * @throws QueryArgsError on unknown options, a missing or unusable url, a bad country,
 *   granularity, instant or limit, or an empty range.
 */
export function parseQueryArgs(argv: readonly string[]): MetricsQuestion {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        country: { type: 'string' },
        granularity: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new QueryArgsError(err instanceof Error ? err.message : String(err));
  }
  if (values.url === undefined) throw new QueryArgsError('--url is required');
  const url = toUrlKey(values.url);
  if (url === null) throw new QueryArgsError(`--url '${values.url}' is neither an http(s) URL nor a path starting with /`);
  const ranged = values.from !== undefined || values.to !== undefined;
  const granularity = values.granularity ?? (ranged ? 'hour' : 'all');
  if (!(GRANULARITIES as readonly string[]).includes(granularity))
    throw new QueryArgsError(`--granularity must be hour, day or all, got '${granularity}'`);
  if (ranged && granularity === 'all')
    throw new QueryArgsError('--from/--to select hour or day windows; they do not apply to --granularity all');
  const country = values.country?.toUpperCase();
  if (country !== undefined && !/^[A-Z]{2}$/.test(country))
    throw new QueryArgsError(`--country must be a two-letter ISO country code, got '${values.country}'`);
  const fromMs = instant('--from', values.from);
  const toMs = instant('--to', values.to);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw new QueryArgsError('--from must be before --to');
  const limit = values.limit === undefined ? 1_000 : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
    throw new QueryArgsError(`--limit must be an integer from 1 to 10000, got '${values.limit}'`);
  return {
    url,
    granularity: granularity as MetricsQuestion['granularity'],
    limit,
    ...(country !== undefined ? { country } : {}),
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
  };
}

function instant(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw new QueryArgsError(`${option} must be an ISO-8601 date or instant (2024-05-01 or 2024-05-01T10:00:00Z), got '${text}'`);
  return ms;
}

/**
 * Renders metric documents as an aligned text table: window, url, country, clicks, unique users,
 * average time spent (seconds) and whether the numbers are final. With more than one row, a total
 * line sums clicks and time spent; unique users are not additive over windows or countries, so
 * the total leaves them out.
 */
export function metricsTable(rows: readonly MetricDocument[]): string {
  const seconds = (sumMs: number, samples: number): string => (samples === 0 ? '-' : `${(sumMs / samples / 1_000).toFixed(1)} s`);
  const header = ['window', 'url', 'country', 'clicks', 'unique users', 'avg time spent', 'final'];
  const body = rows.map((r) => [
    r.window_start === null ? 'all time' : `${r.granularity} ${r.window_start.replace(':00.000Z', 'Z')}`,
    r.url,
    r.country,
    String(r.clicks),
    `${r.unique_users_exact ? '' : '~'}${r.unique_users}`,
    seconds(r.time_spent_sum_ms, r.time_spent_samples),
    r.granularity === 'all' ? '-' : r.final ? 'yes' : 'no',
  ]);
  if (rows.length > 1) {
    const sum = (pick: (r: MetricDocument) => number): number => rows.reduce((total, r) => total + pick(r), 0);
    body.push([
      'total',
      '',
      '',
      String(sum((r) => r.clicks)),
      '(not additive)',
      seconds(
        sum((r) => r.time_spent_sum_ms),
        sum((r) => r.time_spent_samples),
      ),
      '',
    ]);
  }
  const numeric = new Set([3, 4, 5]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Prints the groups with the most clicks (all-time by default) as a table; used by `npm run demo`. */
export async function printTopMetrics(options: {
  connection: ElasticsearchConnection;
  index: string;
  granularity?: Granularity;
  limit: number;
}): Promise<void> {
  const client = createElasticsearchClient(options.connection, createLogger({ service: 'query', level: 'warn' }));
  try {
    const { rows } = await topMetrics(client, options.index, {
      limit: options.limit,
      ...(options.granularity ? { granularity: options.granularity } : {}),
    });
    console.log(rows.length === 0 ? 'no metric documents yet' : metricsTable(rows));
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  let question: MetricsQuestion;
  let config;
  try {
    question = parseQueryArgs(process.argv.slice(2));
    config = parseConfig(serviceConfigSchema(elasticsearchEnv), process.env);
  } catch (err) {
    if (!(err instanceof QueryArgsError || err instanceof ConfigError)) throw err;
    console.error(`query: ${err.message}\n${QUERY_USAGE}`);
    process.exit(2);
  }
  const client = createElasticsearchClient(elasticsearchConnectionOf(config), createLogger({ service: 'query', level: 'warn' }));
  try {
    const { rows, total } = await searchMetrics(client, config.ELASTICSEARCH_INDEX, question);
    const scope = `${question.granularity} metrics of ${question.url}${question.country ? ` in ${question.country}` : ''}`;
    if (rows.length === 0) {
      console.log(`no ${scope} in '${config.ELASTICSEARCH_INDEX}' (url_key and country must match exactly; see npm run demo for examples)`);
      return;
    }
    console.log(`${scope} (${config.ELASTICSEARCH_INDEX} at ${config.ELASTICSEARCH_URL}):\n`);
    console.log(metricsTable(rows));
    if (total > rows.length) console.log(`\n${rows.length} of ${total} documents shown: narrow --from/--to or raise --limit`);
  } catch (err) {
    console.error(
      `query: Elasticsearch at ${config.ELASTICSEARCH_URL} could not answer: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exitCode = 1;
  } finally {
    await client.close();
  }
}

if (import.meta.main) await main();
