import { Client } from '@elastic/elasticsearch';
import type { Logger } from '@clickstream/observability';

/** How to reach Elasticsearch. The API key or password is used for the connection only. */
export interface ElasticsearchConnection {
  url: string;
  apiKey?: string;
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
}

/** The handle the indexer and queries take. The driver stays inside this package. */
export interface ElasticsearchClient {
  readonly driver: Client;
  /** Where the indexer logs what it quarantines. */
  readonly logger: Logger;
  close(): Promise<void>;
}

/** Creates the client; requests that fail are logged at debug level (the caller decides what a failure means). */
export function createElasticsearchClient(connection: ElasticsearchConnection, logger: Logger): ElasticsearchClient {
  const driver = new Client({
    node: connection.url,
    ...(connection.apiKey ? { auth: { apiKey: connection.apiKey } } : {}),
    ...(!connection.apiKey && connection.username ? { auth: { username: connection.username, password: connection.password ?? '' } } : {}),
    requestTimeout: connection.requestTimeoutMs ?? 30_000,
    maxRetries: 3,
  });
  const log = logger.child({ component: 'elasticsearch-client' });
  driver.diagnostic.on('response', (err) => {
    if (err) log.debug({ err }, 'request failed');
  });
  return { driver, logger: log, close: () => driver.close() };
}

/**
 * Asks for cluster health, waiting up to `timeoutMs` for yellow or better. Resolves with the
 * status and server version; rejects when the server does not answer or stays red.
 */
export async function pingElasticsearch(client: ElasticsearchClient, timeoutMs = 1_000): Promise<{ status: string; version: string }> {
  const health = await client.driver.cluster.health({ wait_for_status: 'yellow', timeout: `${timeoutMs}ms` });
  if (health.timed_out || health.status === 'red') throw new Error(`cluster health is ${health.status}`);
  // Not `GET /`: the minimal server distribution used by the local stack has no root endpoint.
  const nodes = await client.driver.nodes.info({ node_id: '_local', metric: '_none', filter_path: 'nodes.*.version' });
  const version = Object.values(nodes.nodes)[0]?.version ?? 'unknown';
  return { status: health.status, version };
}
