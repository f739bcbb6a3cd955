import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { deleteTopics, ensureTopics } from '@clickstream/kafka';
import { startIngest } from '../services/ingest/src/main.ts';
import { pollUntil, stackEnv, testCassandra, testKafka, testLogger, uniqueSuffix } from '../test/support/stack-clients.ts';

const suffix = uniqueSuffix();
const env = {
  ...stackEnv,
  KAFKA_TOPIC: `migrate-${suffix}`,
  KAFKA_DLQ_TOPIC: `migrate-${suffix}-dlq`,
  KAFKA_GROUP_ID: `migrate-${suffix}`,
  CASSANDRA_KEYSPACE: `migrate_${suffix}`,
  ELASTICSEARCH_INDEX: `migrate-${suffix}`,
  HTTP_PORT: '0',
  LOG_LEVEL: 'warn',
};

function runMigrate(extra: Record<string, string> = {}): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'scripts/migrate.ts'], {
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve) =>
    child.once('close', (code) =>
      resolve({
        code,
        lines: out
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  );
}

after(async () => {
  await deleteTopics(testKafka(), [env.KAFKA_TOPIC, env.KAFKA_DLQ_TOPIC]);
  const cassandra = await testCassandra(env.CASSANDRA_KEYSPACE);
  await cassandra.driver.execute(`DROP KEYSPACE IF EXISTS ${env.CASSANDRA_KEYSPACE}`);
  await cassandra.shutdown();
  await fetch(`${stackEnv.ELASTICSEARCH_URL}/${env.ELASTICSEARCH_INDEX}-v*`, { method: 'DELETE' });
  await fetch(`${stackEnv.ELASTICSEARCH_URL}/_index_template/${env.ELASTICSEARCH_INDEX}-template`, { method: 'DELETE' });
});

test('when a variable is wrong, then migrate logs one JSON line naming it and exits 1', async () => {
  const { code, lines } = await runMigrate({ CASSANDRA_KEYSPACE: 'Not-A-Keyspace' });
  assert.equal(code, 1);
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]?.variables, ['CASSANDRA_KEYSPACE']);
});

test('when migrate has run (twice), then ingest starts with MIGRATE_ON_START=false and finds its schema and topics', async () => {
  for (let i = 0; i < 2; i++) {
    const { code, lines } = await runMigrate({ LOG_LEVEL: 'info' });
    assert.equal(code, 0, JSON.stringify(lines));
    assert.ok(lines.some((l) => l.msg === 'migrations done'));
  }
  const specs = [env.KAFKA_TOPIC, env.KAFKA_DLQ_TOPIC].map((topic) => ({ topic, partitions: 1 }));
  assert.deepEqual(await ensureTopics(testKafka(), specs), [], 'both topics exist already');
  const cassandra = await testCassandra(env.CASSANDRA_KEYSPACE);
  try {
    const tables = await cassandra.driver.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
      env.CASSANDRA_KEYSPACE,
    ]);
    assert.ok(
      tables.rows.some((row) => row.get('table_name') === 'events'),
      'the events table exists',
    );
    const earlierLease = await cassandra.driver.execute(
      `SELECT holder, TTL(holder) AS ttl FROM ${env.CASSANDRA_KEYSPACE}.lease_grants WHERE name = ?`,
      ['aggregation'],
    );
    assert.match(String(earlierLease.first()?.get('holder')), /^retired: /, "the earlier releases' aggregator lease is closed to them");
    assert.equal(earlierLease.first()?.get('ttl'), null, 'for good');
  } finally {
    await cassandra.shutdown();
  }
  const alias = await pollUntil(
    () => fetch(`${stackEnv.ELASTICSEARCH_URL}/_alias/${env.ELASTICSEARCH_INDEX}`).then((r) => r.status),
    (status) => status === 200,
    10_000,
  );
  assert.equal(alias, 200);
  const quiet = await runMigrate({ LOG_LEVEL: 'error' });
  assert.equal(quiet.code, 0);
  assert.deepEqual(quiet.lines, [], 'LOG_LEVEL=error: a successful migration logs nothing');
  const service = await startIngest({ ...env, MIGRATE_ON_START: 'false' }, testLogger);
  try {
    assert.equal((await fetch(`http://127.0.0.1:${service.httpPort}/readyz`)).status, 200);
  } finally {
    await service.stop();
  }
});
