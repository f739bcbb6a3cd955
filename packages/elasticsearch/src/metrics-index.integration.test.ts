import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildMetricDocument, metricDocumentId } from '@clickstream/metrics';
import type { MetricDocument } from '@clickstream/metrics';
import { createLogger } from '@clickstream/observability';
import { RetriesExhaustedError } from '@clickstream/retry';
import {
  BulkItemsRejectedError,
  BulkItemsRetriableError,
  MetricsIndexConflictError,
  createElasticsearchClient,
  createMetricsIndexer,
  installMetricsIndex,
  metricsIndexNames,
  searchMetrics,
  topMetrics,
} from './index.ts';
import type { ElasticsearchClient, MetricWrite } from './index.ts';

const logger = createLogger({ service: 'test', level: 'warn' });
const prefix = `it-metrics-${process.pid}-${Date.now().toString(36)}`;
const fastRetry = { attempts: 4, initialDelayMs: 20, maxDelayMs: 100 };
let client: ElasticsearchClient;

function hourWrite(hour: number, url: string, clicks = 1, country = 'FR'): Extract<MetricWrite, { action: 'index' }> {
  const windowStartMs = Date.UTC(2024, 0, 1, hour);
  const document = buildMetricDocument({
    granularity: 'hour',
    windowStartMs,
    url,
    country,
    clicks,
    uniqueUsers: 1,
    uniqueUsersExact: true,
    timeSpentSumMs: 0,
    timeSpentSamples: 0,
    final: true,
    updatedAtMs: Date.UTC(2024, 0, 2),
  });
  return { action: 'index', id: metricDocumentId('hour', windowStartMs, url, country), document };
}

async function count(alias: string): Promise<number> {
  await client.driver.indices.refresh({ index: alias });
  return (await client.driver.count({ index: alias })).count;
}

before(() => {
  client = createElasticsearchClient({ url: process.env.ELASTICSEARCH_URL ?? 'http://localhost:9200' }, logger);
});
after(async () => {
  await client.driver.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  await client.driver.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
  await client.close();
});

describe('installMetricsIndex', () => {
  test('when installed twice, then one versioned index carries the alias as write index, with the strict spec mapping', async () => {
    const alias = `${prefix}-install`;
    const first = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const second = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.deepEqual(second, first);
    assert.equal(first.index, `${alias}-v1`);
    const aliases = await client.driver.indices.getAlias({ name: alias });
    assert.deepEqual(Object.keys(aliases), [first.index]);
    assert.equal(aliases[first.index]?.aliases[alias]?.is_write_index, true);
    const mapping = await client.driver.indices.getMapping({ index: alias });
    const properties = mapping[first.index]?.mappings.properties ?? {};
    assert.equal(mapping[first.index]?.mappings.dynamic, 'strict');
    assert.deepEqual(Object.fromEntries(Object.entries(properties).map(([field, spec]) => [field, spec.type])), {
      granularity: 'keyword',
      window_start: 'date',
      window_end: 'date',
      url: 'keyword',
      country: 'keyword',
      clicks: 'long',
      unique_users: 'long',
      unique_users_exact: 'boolean',
      time_spent_sum_ms: 'long',
      time_spent_samples: 'long',
      avg_time_spent_ms: 'double',
      final: 'boolean',
      updated_at: 'date',
    });
  });

  test('when the alias lost its index link, then installing again restores it', async () => {
    const alias = `${prefix}-repair`;
    const names = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    await client.driver.indices.deleteAlias({ index: names.index, name: alias });
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.equal(await client.driver.indices.existsAlias({ name: alias, index: names.index }), true);
  });

  test('when the alias name is a concrete index, then installing fails with a conflict naming it', async () => {
    const alias = `${prefix}-taken`;
    await client.driver.indices.create({ index: alias });
    await assert.rejects(installMetricsIndex(client, { alias, shards: 1, replicas: 0 }), (err: unknown) => {
      assert.ok(err instanceof MetricsIndexConflictError);
      assert.match(err.message, new RegExp(alias));
      return true;
    });
  });
});

describe('metrics indexer', () => {
  const alias = `${prefix}-bulk`;
  before(async () => {
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
  });

  test('when the same documents are written twice, then they are overwritten, not duplicated, and deletes remove them', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 3, retry: fastRetry });
    const writes = [0, 1, 2, 3, 4].map((hour) => hourWrite(hour, '/a'));
    assert.deepEqual(await indexer.write(writes), { indexed: 5, deleted: 0 });
    await indexer.write([...writes.slice(0, 4), hourWrite(4, '/a', 9)]);
    assert.equal(await count(alias), 5);
    const last = await client.driver.get<{ clicks: number }>({ index: alias, id: hourWrite(4, '/a').id });
    assert.equal(last._source?.clicks, 9);
    const deletes: MetricWrite[] = [writes[0], hourWrite(23, '/never-written')].map((w) => ({ action: 'delete', id: w?.id ?? '' }));
    assert.deepEqual(await indexer.write(deletes), { indexed: 0, deleted: 2 });
    assert.equal(await count(alias), 4);
  });

  test('when an item breaks the mapping, then the write fails naming that item and its reason, and is not retried', async () => {
    let retries = 0;
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry, onRetry: () => (retries += 1) });
    const bad: MetricWrite = {
      action: 'index',
      id: 'bad-doc',
      document: { ...hourWrite(5, '/b').document, clicks: 'many' } as unknown as MetricDocument,
    };
    await assert.rejects(indexer.write([hourWrite(6, '/b'), bad]), (err: unknown) => {
      assert.ok(err instanceof BulkItemsRejectedError);
      assert.equal(err.failures.length, 1);
      assert.equal(err.failures[0]?.id, 'bad-doc');
      assert.equal(err.failures[0]?.status, 400);
      assert.match(err.failures[0]?.type ?? '', /parsing|mapper/);
      return true;
    });
    assert.equal(retries, 0);
  });

  test('when the index refuses writes for a while (flood-stage block, 429), then the failed items are retried and land', async () => {
    const { index } = metricsIndexNames(alias);
    await client.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });
    const seen: unknown[] = [];
    const indexer = createMetricsIndexer(client, {
      alias,
      bulkSize: 100,
      // Lifting the block is asynchronous: leave it enough attempts to land.
      retry: { attempts: 10, initialDelayMs: 50, maxDelayMs: 400 },
      onRetry: (err) => {
        seen.push(err);
        // The block lifts after the first failure: the next attempt must succeed.
        void client.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
      },
    });
    try {
      const before = await count(alias);
      await indexer.write([hourWrite(7, '/c'), hourWrite(8, '/c')]);
      assert.ok(seen.length >= 1 && seen.every((err) => err instanceof BulkItemsRetriableError), 'retried after item failures');
      assert.equal(await count(alias), before + 2);
    } finally {
      await client.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
    }
  });

  test('when the index keeps refusing writes, then the write fails once the attempts are used up', async () => {
    const { index } = metricsIndexNames(alias);
    await client.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });
    try {
      const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry });
      await assert.rejects(indexer.write([hourWrite(9, '/d')]), (err: unknown) => {
        assert.ok(err instanceof RetriesExhaustedError);
        assert.equal(err.attempts, fastRetry.attempts);
        assert.ok(err.cause instanceof BulkItemsRetriableError);
        return true;
      });
    } finally {
      await client.driver.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
    }
  });
});

describe('metric queries', () => {
  const alias = `${prefix}-query`;
  before(async () => {
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const writes = [
      hourWrite(1, '/q', 5),
      hourWrite(2, '/q', 7),
      hourWrite(3, '/q', 9),
      hourWrite(2, '/q', 4, 'DE'),
      hourWrite(2, '/other', 50),
    ];
    await createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry }).write(writes);
    await client.driver.indices.refresh({ index: alias });
  });

  test('when a url, country and hour range are asked for, then exactly those windows come back in time order', async () => {
    const { rows, total } = await searchMetrics(client, alias, {
      url: '/q',
      country: 'FR',
      granularity: 'hour',
      fromMs: Date.UTC(2024, 0, 1, 2),
      toMs: Date.UTC(2024, 0, 1, 4),
      limit: 10,
    });
    assert.equal(total, 2);
    assert.deepEqual(
      rows.map((r) => [r.window_start, r.clicks]),
      [
        ['2024-01-01T02:00:00.000Z', 7],
        ['2024-01-01T03:00:00.000Z', 9],
      ],
    );
  });

  test('when no country is given, then every country of the url comes back, and the limit caps the rows but not the total', async () => {
    const { rows, total } = await searchMetrics(client, alias, { url: '/q', granularity: 'hour', limit: 3 });
    assert.equal(total, 4);
    assert.deepEqual(
      rows.map((r) => `${r.window_start?.slice(11, 13)} ${r.country}`),
      ['01 FR', '02 DE', '02 FR'],
    );
  });

  test('when the top groups are asked for, then they come most clicks first', async () => {
    const { rows } = await topMetrics(client, alias, { granularity: 'hour', limit: 2 });
    assert.deepEqual(
      rows.map((r) => [r.url, r.clicks]),
      [
        ['/other', 50],
        ['/q', 9],
      ],
    );
  });
});
