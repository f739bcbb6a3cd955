/**
 * Ingest's `/readyz` on real Kafka: the broker reached through a TCP proxy of this test's own,
 * which stalls (connections open, nothing answers, as a SIGSTOPped broker) and then vanishes
 * (every connection dropped and refused). `/readyz` turns 503 each time (how soon is printed; the 5 s bound is the probe's design, see its unit tests) and 200 again
 * once Kafka answers; the shared servers are never touched.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deleteTopics, ensureTopics } from '@clickstream/kafka';
import type { KafkaClient } from '@clickstream/kafka';
import { ingestTestEnv, stackEnv, testCassandra, testKafka, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { readyzTurns } from '../../../test/support/readyz.ts';
import { startTcpProxy } from '../../../test/support/tcp-proxy.ts';
import { startIngest } from './main.ts';

const suffix = uniqueSuffix();
const topic = `ready-${suffix}`;
const keyspace = `ready_${suffix}`;
let kafka: KafkaClient;

before(async () => {
  kafka = testKafka();
  await ensureTopics(kafka, [
    { topic, partitions: 1 },
    { topic: `${topic}-dlq`, partitions: 1 },
  ]);
});
after(async () => {
  await deleteTopics(kafka, [topic, `${topic}-dlq`]);
  const cassandra = await testCassandra('system');
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra.shutdown();
});

test('when Kafka stalls and then vanishes, then /readyz turns 503 naming Kafka each time (how soon is printed), and 200 once it answers again', async () => {
  const [host = '127.0.0.1', port = '9092'] = (stackEnv.KAFKA_BROKERS.split(',')[0] ?? '').split(':');
  const proxy = await startTcpProxy({ host, port: Number(port) });
  const service = await startIngest(
    ingestTestEnv({ topic, keyspace, extra: { KAFKA_BROKERS: `127.0.0.1:${proxy.port}` } }),
    testLogger.child({}, { level: 'fatal' }),
  );
  try {
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready while Kafka answers');

    proxy.stall();
    const stalled = await readyzTurns(service.httpPort, 503, 10_000);
    console.log(`/readyz answered ${stalled.answer.status} ${stalled.tookMs} ms after Kafka stalled`);
    assert.equal(stalled.answer.status, 503);
    assert.match(stalled.answer.reason ?? '', /Kafka/);
    proxy.unstall();
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready again once Kafka answers');

    proxy.cut();
    const gone = await readyzTurns(service.httpPort, 503, 10_000);
    assert.equal(gone.answer.status, 503);
    assert.match(gone.answer.reason ?? '', /Kafka/);
    proxy.restore();
    assert.equal((await readyzTurns(service.httpPort, 200, 30_000)).answer.status, 200, 'ready again once Kafka is back');
    assert.equal((await fetch(`http://127.0.0.1:${service.httpPort}/healthz`)).status, 200, '/healthz is about progress, not dependencies');
  } finally {
    await service.stop();
    await proxy.close();
  }
});
