/**
 * The dashboard's `/readyz` on real Elasticsearch reached through a TCP proxy of this test's own,
 * which stalls (connections open, nothing answers, as a SIGSTOPped server) and then vanishes.
 * With the default DASHBOARD_READINESS_INTERVAL_MS, `/readyz` turns 503 within 5 s each time and
 * 200 again once Elasticsearch answers; the shared server is never touched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pollUntil, stackEnv, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';
import { startDashboard } from './main.ts';

type Answer = { status: number; reason?: string };

test('when Elasticsearch stalls and then vanishes, then /readyz turns 503 naming it within 5 s each time, and 200 once it answers again', async () => {
  const url = new URL(stackEnv.ELASTICSEARCH_URL);
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || '9200') });
  const service = await startDashboard(
    { ELASTICSEARCH_URL: `http://127.0.0.1:${proxy.port}`, ELASTICSEARCH_INDEX: `it-dashboard-ready-${uniqueSuffix()}`, HTTP_PORT: '0' },
    testLogger.child({}, { level: 'fatal' }),
  );
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
  try {
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, 'ready while Elasticsearch answers');

    proxy.stall();
    const stalled = await readyzTurns(503, 10_000);
    proxy.unstall();
    console.log(`/readyz answered ${stalled.answer.status} ${stalled.tookMs} ms after Elasticsearch stalled`);
    assert.equal(stalled.answer.status, 503);
    assert.match(stalled.answer.reason ?? '', /Elasticsearch/);
    assert.ok(stalled.tookMs <= 5_000, `503 within 5 s of the stall (took ${stalled.tookMs} ms)`);
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, 'ready again once Elasticsearch answers');

    proxy.cut();
    const gone = await readyzTurns(503, 10_000);
    proxy.restore();
    assert.equal(gone.answer.status, 503);
    assert.match(gone.answer.reason ?? '', /Elasticsearch/);
    assert.ok(gone.tookMs <= 5_000, `503 within 5 s of Elasticsearch vanishing (took ${gone.tookMs} ms)`);
    assert.equal((await readyzTurns(200, 30_000)).answer.status, 200, 'ready again once Elasticsearch is back');
  } finally {
    await service.stop();
    await proxy.close();
  }
});
