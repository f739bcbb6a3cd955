/**
 * The dashboard's start against a stand-in for a secured Elasticsearch that refuses every request
 * (401): the start fails naming Elasticsearch, the credentials went out in the Authorization header
 * (basic auth, or the API key when one is set), and no log line at any level holds them.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { ElasticsearchAuthError } from '@clickstream/elasticsearch';
import { createLogger } from '@clickstream/observability';
import { startDashboard } from './main.ts';

const PASSWORD = 'dash-pa55-never-logged';
const API_KEY = Buffer.from('key-id:key-secret-never-logged').toString('base64');
let server: Server;
let url: string;
const seen: IncomingHttpHeaders[] = [];

before(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers);
    const error = {
      type: 'security_exception',
      reason: 'unable to authenticate user [dash] for REST request [/clickstream-metrics/_count]',
    };
    response.writeHead(401, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    response.end(JSON.stringify({ error: { root_cause: [error], ...error }, status: 401 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

for (const { name, env, authorization } of [
  {
    name: 'a user and password',
    env: { ELASTICSEARCH_USERNAME: 'dash', ELASTICSEARCH_PASSWORD: PASSWORD },
    authorization: `Basic ${Buffer.from(`dash:${PASSWORD}`).toString('base64')}`,
  },
  { name: 'an API key', env: { ELASTICSEARCH_API_KEY: API_KEY }, authorization: `ApiKey ${API_KEY}` },
]) {
  test(`when Elasticsearch refuses ${name}, then the dashboard does not start, says why, and logs no secret`, async () => {
    seen.length = 0;
    const output = new PassThrough();
    let logged = '';
    output.on('data', (chunk: Buffer) => (logged += chunk.toString('utf8')));
    const logger = createLogger({ service: 'dashboard', level: 'trace', destination: output });
    await assert.rejects(
      startDashboard({ ELASTICSEARCH_URL: url, HTTP_PORT: '0', LOG_LEVEL: 'trace', ...env }, logger),
      (err) => err instanceof ElasticsearchAuthError && /^Elasticsearch refused the credentials \(401/.test(err.message),
    );
    assert.ok(seen.length > 0 && seen.every((headers) => headers.authorization === authorization), 'every request carried the credentials');
    const [, secret] = authorization.split(' ');
    for (const forbidden of [PASSWORD, API_KEY, secret ?? '', 'key-secret-never-logged'])
      assert.ok(!logged.includes(forbidden), `log holds ${forbidden}`);
  });
}
