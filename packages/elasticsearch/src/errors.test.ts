import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createLogger } from '@clickstream/observability';
import { createElasticsearchClient } from './elasticsearch-client.ts';
import type { ElasticsearchConnection } from './elasticsearch-client.ts';
import { ElasticsearchAuthError, ElasticsearchUnavailableError, classifyElasticsearchError } from './errors.ts';
import { checkCredentialsAccepted, checkMetricsReadable, metricsUnreadableReason } from './metrics-probes.ts';

/**
 * A stand-in for a secured Elasticsearch: every request gets the status and error its path names
 * (`/401/...`, `/403/...`, `/403-block/...`, `/503/...`), as a real one answers them, so the errors
 * are the client's own. What Elasticsearch does is not under test; how we classify its answers is.
 */
const ANSWERS: Record<string, { status: number; type: string; reason: string }> = {
  '401': {
    status: 401,
    type: 'security_exception',
    reason: 'unable to authenticate user [clicks] for REST request [/clickstream-metrics/_count]',
  },
  '403': {
    status: 403,
    type: 'security_exception',
    reason: 'action [indices:data/read/search] is unauthorized for user [clicks] with effective roles [] on indices [clickstream-metrics]',
  },
  '403-block': {
    status: 403,
    type: 'cluster_block_exception',
    reason: 'index [clickstream-metrics-v1] blocked by: [FORBIDDEN/8/index write (api)];',
  },
  '503': { status: 503, type: 'master_not_discovered_exception', reason: 'no master' },
};
let server: Server;
let base: string;

before(async () => {
  server = createServer((request, response) => {
    const answer = ANSWERS[(request.url ?? '').split('/')[1] ?? ''] ?? {
      status: 404,
      type: 'index_not_found_exception',
      reason: 'no such index',
    };
    const error = { root_cause: [{ type: answer.type, reason: answer.reason }], type: answer.type, reason: answer.reason };
    response.writeHead(answer.status, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      ...(answer.status === 401 ? { 'www-authenticate': 'Basic realm="security", charset="UTF-8", ApiKey' } : {}),
    });
    response.end(JSON.stringify({ error, status: answer.status }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const quiet = createLogger({ service: 'test', level: 'silent' });
const credentials: Omit<ElasticsearchConnection, 'url'> = { username: 'clicks', password: 'pa55-w0rd-never-shown' };
/** The client's error for one request to the stand-in answering as `answer`. */
async function clientError(answer: string): Promise<unknown> {
  const client = createElasticsearchClient({ url: `${base}/${answer}`, ...credentials, requestTimeoutMs: 2_000 }, quiet);
  try {
    await client.driver.count({ index: 'clickstream-metrics' }, { maxRetries: 0 });
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await client.close();
  }
}

for (const { answer, says } of [
  { answer: '401', says: /^Elasticsearch refused the credentials \(401: unable to authenticate user \[clicks\].*ELASTICSEARCH_USERNAME/ },
  {
    answer: '403',
    says: /^Elasticsearch refused the request for lack of privileges \(403: action \[indices:data\/read\/search\] is unauthorized/,
  },
]) {
  test(`when Elasticsearch answers ${answer} security_exception, then an ElasticsearchAuthError, not retriable, says so without the password`, async () => {
    const classified = classifyElasticsearchError(await clientError(answer));
    assert.ok(classified instanceof ElasticsearchAuthError);
    assert.equal(classified.retriable, false);
    assert.equal(classified.code, 'elasticsearch_auth_failed');
    assert.match(classified.message, says);
    assert.doesNotMatch(classified.message, /pa55-w0rd/);
  });
}

test('when an index block answers 403, then it stays what it was: a block is not a credentials problem', async () => {
  const err = await clientError('403-block');
  assert.equal(classifyElasticsearchError(err), err);
});

test('when Elasticsearch answers 503, then it is still unavailable (retriable)', async () => {
  assert.ok(classifyElasticsearchError(await clientError('503')) instanceof ElasticsearchUnavailableError);
});

test('when the credentials are refused, then /readyz says so instead of "Elasticsearch does not answer"', async () => {
  const client = createElasticsearchClient({ url: `${base}/401`, ...credentials }, quiet);
  try {
    const err = await checkMetricsReadable(client, 'clickstream-metrics', 2_000).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.match(metricsUnreadableReason(err), /^Elasticsearch refused the credentials \(401/);
  } finally {
    await client.close();
  }
});

for (const { answer, rejects } of [
  { answer: '401', rejects: true },
  { answer: '403', rejects: true },
  { answer: '503', rejects: false },
  { answer: 'missing', rejects: false },
]) {
  test(`checkCredentialsAccepted: when Elasticsearch answers ${answer}, then it ${rejects ? 'rejects' : 'resolves (the probe reports it)'}`, async () => {
    const client = createElasticsearchClient({ url: `${base}/${answer}`, ...credentials }, quiet);
    try {
      const outcome = checkCredentialsAccepted(client, 'clickstream-metrics', 2_000);
      if (rejects) await assert.rejects(outcome, ElasticsearchAuthError);
      else await outcome;
    } finally {
      await client.close();
    }
  });
}

test('checkCredentialsAccepted: when nothing listens, then it resolves (the probe reports it)', async () => {
  const client = createElasticsearchClient({ url: 'http://127.0.0.1:1', ...credentials, requestTimeoutMs: 1_000 }, quiet);
  try {
    await checkCredentialsAccepted(client, 'clickstream-metrics', 1_000);
  } finally {
    await client.close();
  }
});
