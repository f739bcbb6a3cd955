/**
 * Known metric documents for the dashboard's API and browser tests, placed around "now" so that
 * they fall in the page's default ranges (last 48 hours, last 30 days), and the numbers each panel
 * must show for them, worked out by hand from the table below.
 */
import { createMetricsIndexer, installMetricsIndex } from '@clickstream/elasticsearch';
import type { ElasticsearchClient, MetricWrite } from '@clickstream/elasticsearch';
import { DAY_MS, HOUR_MS, buildMetricDocument, metricDocumentId } from '@clickstream/metrics';

type Row = [url: string, country: string, clicks: number, users: number, spentMs: number, samples: number];

/** The windows the fixture fills, as epoch milliseconds. */
export interface DashboardFixture {
  /** A final hour, three hours before the current one. */
  readonly hour1: number;
  /** An open hour, the one before the current one. */
  readonly hour2: number;
  /** Yesterday (final) and today (open), UTC. */
  readonly yesterday: number;
  readonly today: number;
  /** The latest `updated_at` of the documents. */
  readonly lastUpdatedMs: number;
}

/** Windows of the fixture for a given "now". */
export function dashboardFixtureWindows(nowMs: number): DashboardFixture {
  const currentHour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return {
    hour1: currentHour - 3 * HOUR_MS,
    hour2: currentHour - HOUR_MS,
    yesterday: today - DAY_MS,
    today,
    lastUpdatedMs: currentHour - 10 * 60_000 + 1_234,
  };
}

/**
 * Installs the metrics index behind `alias` and indexes the fixture's documents (visible to
 * searches when this resolves).
 *
 *   window              url       country clicks users spent_ms samples final
 *   hour1               /home     FR      10     7     60000    6       yes
 *   hour1               /home     DE       5     4     20000    4       yes
 *   hour1               /pricing  FR       3     3         0    0       yes
 *   hour2               /home     FR       2     2      5000    1       no
 *   hour2               /docs     US       8     1     16000    2       no
 *   yesterday           /home     FR      20    15    100000   10       yes
 *   yesterday           /about    GB       4     2      9000    3       yes
 *   today               /home     FR      12     8     65000    7       no
 *   today               /home     DE       5     4     20000    4       no
 *   today               /pricing  FR       3     3         0    0       no
 *   today               /docs     US       8     1     16000    2       no
 *   all                 /home     FR      32    20    165000   17       no
 *   all                 /home     DE       5     4     20000    4       no
 *   all                 /pricing  FR       3     3         0    0       no
 *   all                 /docs     US       8     1     16000    2       no
 *   all                 /about    GB       4     2      9000    3       no
 */
export async function seedDashboardFixture(client: ElasticsearchClient, alias: string, nowMs: number): Promise<DashboardFixture> {
  const windows = dashboardFixtureWindows(nowMs);
  const groups: [granularity: 'hour' | 'day' | 'all', startMs: number | null, final: boolean, rows: Row[]][] = [
    [
      'hour',
      windows.hour1,
      true,
      [
        ['/home', 'FR', 10, 7, 60_000, 6],
        ['/home', 'DE', 5, 4, 20_000, 4],
        ['/pricing', 'FR', 3, 3, 0, 0],
      ],
    ],
    [
      'hour',
      windows.hour2,
      false,
      [
        ['/home', 'FR', 2, 2, 5_000, 1],
        ['/docs', 'US', 8, 1, 16_000, 2],
      ],
    ],
    [
      'day',
      windows.yesterday,
      true,
      [
        ['/home', 'FR', 20, 15, 100_000, 10],
        ['/about', 'GB', 4, 2, 9_000, 3],
      ],
    ],
    [
      'day',
      windows.today,
      false,
      [
        ['/home', 'FR', 12, 8, 65_000, 7],
        ['/home', 'DE', 5, 4, 20_000, 4],
        ['/pricing', 'FR', 3, 3, 0, 0],
        ['/docs', 'US', 8, 1, 16_000, 2],
      ],
    ],
    [
      'all',
      null,
      false,
      [
        ['/home', 'FR', 32, 20, 165_000, 17],
        ['/home', 'DE', 5, 4, 20_000, 4],
        ['/pricing', 'FR', 3, 3, 0, 0],
        ['/docs', 'US', 8, 1, 16_000, 2],
        ['/about', 'GB', 4, 2, 9_000, 3],
      ],
    ],
  ];
  const writes: MetricWrite[] = groups.flatMap(([granularity, windowStartMs, final, rows]) =>
    rows.map(([url, country, clicks, uniqueUsers, timeSpentSumMs, timeSpentSamples], i): MetricWrite => ({
      action: 'index',
      id: metricDocumentId(granularity, windowStartMs, url, country),
      document: buildMetricDocument({
        granularity,
        windowStartMs,
        url,
        country,
        clicks,
        uniqueUsers,
        uniqueUsersExact: true,
        timeSpentSumMs,
        timeSpentSamples,
        final,
        // One document carries the latest time; the others are older.
        updatedAtMs: granularity === 'hour' && !final && i === 1 ? windows.lastUpdatedMs : windows.lastUpdatedMs - 60_000 * (i + 1),
      }),
    })),
  );
  await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
  await createMetricsIndexer(client, { alias, bulkSize: 100, retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 } }).write(
    writes,
  );
  await client.driver.indices.refresh({ index: alias });
  return windows;
}

/**
 * Indexes one final hour document per page (1 click, 1 user, FR) into `alias`, then refreshes it.
 * @returns a function that deletes them again.
 */
export async function indexHourPages(
  client: ElasticsearchClient,
  alias: string,
  hourMs: number,
  urls: readonly string[],
): Promise<() => Promise<void>> {
  const indexer = createMetricsIndexer(client, { alias, bulkSize: 1_000, retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 } });
  const ids = urls.map((url) => metricDocumentId('hour', hourMs, url, 'FR'));
  await indexer.write(
    urls.map((url, i) => ({
      action: 'index',
      id: ids[i] ?? '',
      document: buildMetricDocument({
        granularity: 'hour',
        windowStartMs: hourMs,
        url,
        country: 'FR',
        clicks: 1,
        uniqueUsers: 1,
        uniqueUsersExact: true,
        timeSpentSumMs: 0,
        timeSpentSamples: 0,
        final: true,
        updatedAtMs: hourMs,
      }),
    })),
  );
  await client.driver.indices.refresh({ index: alias });
  return async () => {
    await indexer.write(ids.map((id) => ({ action: 'delete', id })));
    await client.driver.indices.refresh({ index: alias });
  };
}
