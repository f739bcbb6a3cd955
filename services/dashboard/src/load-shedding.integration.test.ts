/**
 * The dashboard under more API calls than it may hold, on real Elasticsearch reached through a TCP
 * proxy of this test's own that stalls (connections open, nothing answers), so the calls stay in
 * flight as long as the test needs. Before the gate every call queried Elasticsearch at once:
 * 1,000 clients took it to 505 MiB resident (its pod's limit is 256 MiB; report.md, capacity probe).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollUntil, stackEnv, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';
import { startDashboard } from './main.ts';

/** The value of an unlabelled gauge in the dashboard's /metrics. */
async function gauge(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

test('when more API calls come than may run and wait, then the rest are answered 503 busy at once with retry-after, the others still answer once Elasticsearch does', async () => {
  const url = new URL(stackEnv.ELASTICSEARCH_URL);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || '9200') });
  const service = await startDashboard(
    {
      ELASTICSEARCH_URL: `http://127.0.0.1:${proxy.port}`,
      ELASTICSEARCH_INDEX: `it-dashboard-shed-${uniqueSuffix()}`,
      HTTP_PORT: '0',
      DASHBOARD_MAX_CONCURRENT_QUERIES: '2',
      DASHBOARD_MAX_QUEUED_QUERIES: '1',
      // Long enough that nothing times out on a loaded machine while the proxy holds the queries.
      DASHBOARD_QUERY_TIMEOUT_MS: '120000',
    },
    testLogger.child({}, { level: 'fatal' }),
  );
  const base = `http://127.0.0.1:${service.httpPort}`;
  try {
    proxy.stall();
    const held = ['/api/clicks', '/api/top?by=country', '/api/freshness'].map((path) => fetch(`${base}${path}`));
    const admitted = await pollUntil(
      async () => [await gauge(service.httpPort, 'dashboard_api_in_flight'), await gauge(service.httpPort, 'dashboard_api_queued')],
      ([inFlight, queued]) => inFlight === 2 && queued === 1,
      30_000,
      100,
    );
    assert.deepEqual(admitted, [2, 1], 'two calls query Elasticsearch and one waits');

    const refused = await fetch(`${base}/api/top?by=url`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as { error: string }).error, 'busy');
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the ops endpoints answer meanwhile');

    proxy.unstall();
    const answers = await Promise.all(held);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200],
    );
    await Promise.all(answers.map((r) => r.text()));
    const drained = await pollUntil(
      () => gauge(service.httpPort, 'dashboard_api_in_flight'),
      (inFlight) => inFlight === 0,
      30_000,
      100,
    );
    assert.equal(drained, 0);
  } finally {
    proxy.unstall();
    await service.stop();
    await proxy.close();
  }
});
