/**
 * The aggregator's `/readyz` on real Cassandra and Elasticsearch, each reached through a TCP proxy
 * of this test's own that stalls (connections open, nothing answers, as a SIGSTOPped server) or
 * vanishes. `/readyz` turns 503 naming the dependency within 5 s, and 200 again once it answers,
 * with no aggregation run in between; the shared servers are never touched.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { pollUntil, removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';
import type { TcpProxy } from '../../../test/support/tcp-proxy.ts';
import { startAggregator } from './main.ts';
import type { AggregatorService } from './main.ts';

const suffix = uniqueSuffix();
const keyspace = `agg_ready_${suffix}`;
const alias = `it-agg-ready-${suffix}`;
let cassandra: CassandraClient;
let es: ElasticsearchClient;
let cassandraProxy: TcpProxy;
let elasticsearchProxy: TcpProxy;
let service: AggregatorService;

type Answer = { status: number; reason?: string };
const readyz = async (): Promise<Answer> => {
  const response = await fetch(`http://127.0.0.1:${service.httpPort}/readyz`);
  const { reason } = (await response.json()) as { reason?: string };
  return { status: response.status, ...(reason === undefined ? {} : { reason }) };
};
/** Polls until `/readyz` answers `status`; returns the answer and how long it took. */
const readyzTurns = async (status: number, timeoutMs: number): Promise<{ answer: Answer; tookMs: number }> => {
  const since = Date.now();
  const answer = await pollUntil(readyz, (a) => a.status === status, timeoutMs, 100);
  return { answer, tookMs: Date.now() - since };
};

before(async () => {
  cassandra = await testCassandra(keyspace);
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  const [host = '127.0.0.1', port = '9042'] = (stackEnv.CASSANDRA_CONTACT_POINTS.split(',')[0] ?? '').split(':');
  cassandraProxy = await startTcpProxy({ host, port: Number(port) });
  const url = new URL(stackEnv.ELASTICSEARCH_URL);
  elasticsearchProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || '9200') });
  service = await startAggregator(
    {
      ...stackEnv,
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${cassandraProxy.port}`,
      ELASTICSEARCH_URL: `http://127.0.0.1:${elasticsearchProxy.port}`,
      CASSANDRA_KEYSPACE: keyspace,
      ELASTICSEARCH_INDEX: alias,
      HTTP_PORT: '0',
    },
    testLogger.child({}, { level: 'fatal' }),
    { schedule: false },
  );
});
after(async () => {
  await service.stop();
  await Promise.all([cassandraProxy.close(), elasticsearchProxy.close()]);
  await removeTestStores({ es, alias, cassandra, keyspace });
  // Known issue (as in ingest's runtime test): after a connection cut through the proxy, a
  // Cassandra driver timer can keep this file's process alive; every result is reported by now.
  setTimeout(() => process.exit(), 10_000).unref();
});

for (const [dependency, proxy] of [
  ['Cassandra', () => cassandraProxy],
  ['Elasticsearch', () => elasticsearchProxy],
] as const) {
  test(`when ${dependency} stalls and then vanishes, then /readyz turns 503 naming it within 5 s each time, and 200 once it answers again`, async () => {
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, 'ready while both answer');

    proxy().stall();
    const stalled = await readyzTurns(503, 10_000);
    proxy().unstall();
    console.log(`/readyz answered ${stalled.answer.status} ${stalled.tookMs} ms after ${dependency} stalled`);
    assert.equal(stalled.answer.status, 503);
    assert.match(stalled.answer.reason ?? '', new RegExp(dependency));
    assert.ok(stalled.tookMs <= 5_000, `503 within 5 s of the stall (took ${stalled.tookMs} ms)`);
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, `ready again once ${dependency} answers`);

    proxy().cut();
    const gone = await readyzTurns(503, 10_000);
    proxy().restore();
    assert.equal(gone.answer.status, 503);
    assert.match(gone.answer.reason ?? '', new RegExp(dependency));
    assert.ok(gone.tookMs <= 5_000, `503 within 5 s of ${dependency} vanishing (took ${gone.tookMs} ms)`);
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, `ready again once ${dependency} is back`);
  });
}
