/**
 * The dashboard's `/readyz` on real Elasticsearch reached through a TCP proxy of this test's own,
 * which stalls (connections open, nothing answers, as a SIGSTOPped server) and then vanishes.
 * With the default DASHBOARD_READINESS_INTERVAL_MS, `/readyz` turns 503 each time (how soon is printed; the 5 s bound is the probe's design, see its unit tests) and
 * 200 again once Elasticsearch answers; the shared server is never touched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stackEnv, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { readyzTurns } from '../../../test/support/readyz.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';
import { startDashboard } from './main.ts';

test('when Elasticsearch stalls and then vanishes, then /readyz turns 503 naming it each time (how soon is printed), and 200 once it answers again', async () => {
  const url = new URL(stackEnv.ELASTICSEARCH_URL);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || '9200') });
  const service = await startDashboard(
    { ELASTICSEARCH_URL: `http://127.0.0.1:${proxy.port}`, ELASTICSEARCH_INDEX: `it-dashboard-ready-${uniqueSuffix()}`, HTTP_PORT: '0' },
    testLogger.child({}, { level: 'fatal' }),
  );
  try {
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready while Elasticsearch answers');

    proxy.stall();
    const stalled = await readyzTurns(service.httpPort, 503, 10_000);
    proxy.unstall();
    console.log(`/readyz answered ${stalled.answer.status} ${stalled.tookMs} ms after Elasticsearch stalled`);
    assert.equal(stalled.answer.status, 503);
    assert.match(stalled.answer.reason ?? '', /Elasticsearch/);
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready again once Elasticsearch answers');

    proxy.cut();
    const gone = await readyzTurns(service.httpPort, 503, 10_000);
    proxy.restore();
    assert.equal(gone.answer.status, 503);
    assert.match(gone.answer.reason ?? '', /Elasticsearch/);
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready again once Elasticsearch is back');
  } finally {
    await service.stop();
    await proxy.close();
  }
});
