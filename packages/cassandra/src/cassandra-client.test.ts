import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createServer } from 'node:tls';
import { createLogger } from '@clickstream/observability';
import { UNTRUSTED_CERT, UNTRUSTED_KEY } from '../../../test/support/untrusted-tls.ts';
import { connectCassandra } from './cassandra-client.ts';

test('when CASSANDRA_SSL is on and the server shows a certificate no trusted CA signed, then the client refuses it before sending anything', async () => {
  // A TLS server posing as Cassandra: any client that completes the handshake could be sending it the credentials.
  let handshakes = 0;
  const server = createServer({ cert: UNTRUSTED_CERT, key: UNTRUSTED_KEY }, (socket) => {
    handshakes++;
    socket.destroy();
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await assert.rejects(
      connectCassandra(
        {
          contactPoints: [`127.0.0.1:${port}`],
          localDataCenter: 'datacenter1',
          keyspace: 'system',
          username: 'clicks',
          password: 'never-sent',
          ssl: true,
          requestTimeoutMs: 2_000,
        },
        createLogger({ service: 'test', level: 'silent' }),
      ),
      /self-signed certificate/,
    );
    assert.equal(handshakes, 0, 'the handshake with the untrusted server completed');
  } finally {
    server.close();
  }
});
