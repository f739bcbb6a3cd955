/** Probes of the metrics alias the services' readiness and start use: can it be read, are the credentials accepted. */
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { ElasticsearchAuthError, MetricsIndexUnreadableError, classifiedReadError, isIndexMissing } from './errors.ts';

/** What `/readyz` says when {@link checkMetricsReadable} rejects: the index's state when it is unreadable, the refusal when Elasticsearch refused the credentials, else that Elasticsearch does not answer. */
export function metricsUnreadableReason(err: unknown): string {
  return err instanceof MetricsIndexUnreadableError || err instanceof ElasticsearchAuthError
    ? err.message
    : 'Elasticsearch does not answer';
}

/**
 * Rejects with {@link ElasticsearchAuthError} when Elasticsearch refuses the credentials or their
 * privileges to read the metrics alias, and resolves on any other outcome (the readiness probe
 * reports those). For a service's start: wrong credentials stop it (exit 1, one line naming
 * Elasticsearch), as Kafka's and Cassandra's do, instead of leaving it running and never ready.
 */
export async function checkCredentialsAccepted(client: ElasticsearchClient, alias: string, timeoutMs: number): Promise<void> {
  try {
    await checkMetricsReadable(client, alias, timeoutMs);
  } catch (err) {
    if (err instanceof ElasticsearchAuthError) throw err;
  }
}

/**
 * Whether the metrics alias can be read within `timeoutMs`, for readiness: resolves when it
 * answers (a missing alias counts: no data yet), rejects otherwise. No retries.
 */
export async function checkMetricsReadable(client: ElasticsearchClient, alias: string, timeoutMs: number): Promise<void> {
  try {
    // A closed index must fail it: the panels cannot read it either.
    await client.driver.count({ index: alias, allow_no_indices: true }, { requestTimeout: timeoutMs, maxRetries: 0 });
  } catch (err) {
    if (isIndexMissing(err)) return;
    throw classifiedReadError(err, alias);
  }
}
