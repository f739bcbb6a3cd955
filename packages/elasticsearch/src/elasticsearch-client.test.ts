import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '@clickstream/observability';
import { UNTRUSTED_CERT, UNTRUSTED_KEY } from '../../../test/support/untrusted-tls.ts';
import { createElasticsearchClient, pingElasticsearch } from './elasticsearch-client.ts';

test('when ELASTICSEARCH_URL is https and the server shows a certificate no trusted CA signed, then no request reaches it', async () => {
  // Anything posing as Elasticsearch that got a request would hold the Authorization header.
  let requests = 0;
  const server = createServer({ cert: UNTRUSTED_CERT, key: UNTRUSTED_KEY }, (_request, response) => {
    requests++;
    response.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' }).end('{}');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = createElasticsearchClient(
    { url: `https://127.0.0.1:${port}`, username: 'clicks', password: 'never-sent', requestTimeoutMs: 2_000 },
    createLogger({ service: 'test', level: 'silent' }),
  );
  try {
    await assert.rejects(pingElasticsearch(client), /self-signed certificate/);
    assert.equal(requests, 0);
  } finally {
    await client.close();
    server.close();
  }
});
