/**
 * The aggregator's `/readyz` on real Cassandra and Elasticsearch, each reached through a TCP proxy
 * of this test's own that stalls (connections open, nothing answers, as a SIGSTOPped server) or
 * vanishes. `/readyz` turns 503 naming the dependency (how soon is printed), and 200 again once it answers,
 * with no aggregation run in between; the shared servers are never touched.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CassandraClient } from '@clickstream/cassandra';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { removeTestStores, stackEnv, testCassandra, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { readyzTurns } from '../../../test/support/readyz.ts';
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
  test(`when ${dependency} stalls and then vanishes, then /readyz turns 503 naming it each time (how soon is printed), and 200 once it answers again`, async () => {
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready while both answer');

    proxy().stall();
    const stalled = await readyzTurns(service.httpPort, 503, 10_000);
    proxy().unstall();
    console.log(`/readyz answered ${stalled.answer.status} ${stalled.tookMs} ms after ${dependency} stalled`);
    assert.equal(stalled.answer.status, 503);
    assert.match(stalled.answer.reason ?? '', new RegExp(dependency));
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, `ready again once ${dependency} answers`);

    proxy().cut();
    const gone = await readyzTurns(service.httpPort, 503, 10_000);
    proxy().restore();
    assert.equal(gone.answer.status, 503);
    assert.match(gone.answer.reason ?? '', new RegExp(dependency));
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, `ready again once ${dependency} is back`);
  });
}
