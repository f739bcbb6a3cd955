import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import cassandra from 'cassandra-driver';
import { createLogger } from '@clickstream/observability';
import { connectCassandra } from './cassandra-client.ts';
import { CassandraConnectError, CassandraUnavailableError, classifyCassandraError, connectError } from './errors.ts';

const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9042'), { code: 'ECONNREFUSED', port: 9042 });
const timedOut = new cassandra.errors.OperationTimedOutError('The host 10.0.0.2:9042 did not reply before timeout 12000 ms');
const noHost = (): Error => new cassandra.errors.NoHostAvailableError({ '10.0.0.1:9042': refused, '10.0.0.2:9042': timedOut });

/** One line naming every host and its reason: no stack frame, no inspected properties. */
function assertOneLineNamingEveryHost(message: string): void {
  assert.doesNotMatch(message, /\n|\bat \S+ \(|errno/, message);
  assert.match(message, /10\.0\.0\.1:9042: connect ECONNREFUSED 10\.0\.0\.1:9042/);
  assert.match(message, /10\.0\.0\.2:9042: The host 10\.0\.0\.2:9042 did not reply/);
}

test('when no host answers a statement, then the retriable error says every host and its reason on one line, and keeps their errors as its cause', () => {
  assert.match(noHost().message, /\n/, "the driver's own message spreads the first host's stack over lines");
  const classified = classifyCassandraError(noHost());
  assert.ok(classified instanceof CassandraUnavailableError);
  assert.equal(classified.retriable, true);
  assertOneLineNamingEveryHost(classified.message);
  assert.ok(classified.cause instanceof AggregateError);
  assert.deepEqual(classified.cause.errors, [refused, timedOut]);
});

test('when the driver names no host, then its own message is kept, with its error as the cause', () => {
  const err = new cassandra.errors.NoHostAvailableError({});
  const classified = classifyCassandraError(err);
  assert.ok(classified instanceof CassandraUnavailableError);
  assert.equal(classified.message, err.message);
  assert.equal(classified.cause, err);
});

test('when the client cannot connect, then the error is not retriable and says every host and its reason on one line; other errors pass unchanged', () => {
  const err = connectError(noHost());
  assert.ok(err instanceof CassandraConnectError);
  assert.equal(err.retriable, false);
  assertOneLineNamingEveryHost(err.message);
  const other = new TypeError('contactPoints must be an array');
  assert.equal(connectError(other), other);
});

test('when every contact point drops the connection, then connecting fails with one line naming the host', async () => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await assert.rejects(
      connectCassandra(
        { contactPoints: [`127.0.0.1:${port}`], localDataCenter: 'datacenter1', keyspace: 'system', requestTimeoutMs: 2_000 },
        createLogger({ service: 'test', level: 'silent' }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof CassandraConnectError, String(err));
        assert.match(err.message, new RegExp(`^every Cassandra host tried failed \\(127\\.0\\.0\\.1:${port}: [^\\n]+\\)$`));
        return true;
      },
    );
  } finally {
    server.close();
  }
});
