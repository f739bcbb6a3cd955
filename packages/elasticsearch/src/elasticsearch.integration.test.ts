import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '@clickstream/observability';
import { createElasticsearchClient, pingElasticsearch } from './index.ts';
import type { ElasticsearchClient } from './index.ts';

const logger = createLogger({ service: 'test', level: 'warn' });
const index = `smoke-${process.pid}`;
let client: ElasticsearchClient;

before(() => {
  client = createElasticsearchClient({ url: process.env.ELASTICSEARCH_URL ?? 'http://localhost:9200' }, logger);
});
after(async () => {
  await client.driver.indices.delete({ index, ignore_unavailable: true });
  await client.close();
});

test('when Elasticsearch is up, then cluster health is yellow or better and its major matches the client', async () => {
  const { status, version } = await pingElasticsearch(client);
  assert.ok(['green', 'yellow'].includes(status));
  assert.equal(version.split('.')[0], '8', 'the @elastic/elasticsearch client is major 8');
  console.log(`elasticsearch: version ${version}, health ${status}`);
});

test('when documents are bulk-indexed, then a search finds them', async () => {
  await client.driver.indices.create({ index, mappings: { properties: { url: { type: 'keyword' }, clicks: { type: 'long' } } } });
  const docs = [
    { url: '/a', clicks: 3 },
    { url: '/b', clicks: 5 },
    { url: '/a', clicks: 7 },
  ];
  const bulk = await client.driver.bulk({
    refresh: 'wait_for',
    operations: docs.flatMap((d, i) => [{ index: { _index: index, _id: String(i) } }, d]),
  });
  assert.equal(bulk.errors, false);
  const found = await client.driver.search<{ url: string; clicks: number }>({
    index,
    query: { term: { url: '/a' } },
    aggs: { total: { sum: { field: 'clicks' } } },
  });
  assert.equal(found.hits.hits.length, 2);
  assert.deepEqual(found.aggregations?.total, { value: 10 });
});
