import { errors } from '@elastic/elasticsearch';

/** Elasticsearch could not take or answer a request right now (no connection, timeout, 429, 5xx): retry with backoff. */
export class ElasticsearchUnavailableError extends Error {
  override readonly name = 'ElasticsearchUnavailableError';
  readonly code = 'elasticsearch_unavailable';
  readonly retriable = true;
}

/** The metrics index answers but cannot be read: it is closed (by an operator, or a restore in progress). Retriable: it opens again. */
export class MetricsIndexUnreadableError extends Error {
  override readonly name = 'MetricsIndexUnreadableError';
  readonly code = 'metrics_index_unreadable';
  readonly retriable = true;
}

/**
 * Elasticsearch refused the credentials (401: a wrong or missing API key, user or password) or
 * their privileges (403 `security_exception`). Not retriable: only a change of
 * ELASTICSEARCH_API_KEY / ELASTICSEARCH_USERNAME / ELASTICSEARCH_PASSWORD or of the roles cures it.
 */
export class ElasticsearchAuthError extends Error {
  override readonly name = 'ElasticsearchAuthError';
  readonly code = 'elasticsearch_auth_failed';
  readonly retriable = false;
}

/** Some bulk items did not succeed; `failures` says which and why. */
abstract class BulkItemsError extends Error {
  abstract readonly retriable: boolean;
  readonly failures: readonly BulkItemFailure[];

  constructor(what: string, failures: readonly BulkItemFailure[]) {
    super(`${failures.length} bulk item(s) ${what}: ${describeFailures(failures)}`);
    this.failures = failures;
  }
}

/** Some bulk items failed for a reason that may pass (429, 5xx, a temporary block). */
export class BulkItemsRetriableError extends BulkItemsError {
  override readonly name = 'BulkItemsRetriableError';
  readonly code = 'bulk_items_retriable';
  readonly retriable = true;

  constructor(failures: readonly BulkItemFailure[]) {
    super('failed, retriable', failures);
  }
}

/** Some bulk items were refused for a reason a retry cannot fix (mapping conflict, bad document). */
export class BulkItemsRejectedError extends BulkItemsError {
  override readonly name = 'BulkItemsRejectedError';
  readonly code = 'bulk_items_rejected';
  readonly retriable = false;

  constructor(failures: readonly BulkItemFailure[]) {
    super('rejected', failures);
  }
}

/** The metrics alias cannot be installed as asked (the name is a concrete index, or the mapping conflicts). */
export class MetricsIndexConflictError extends Error {
  override readonly name = 'MetricsIndexConflictError';
  readonly code = 'metrics_index_conflict';
  readonly retriable = false;
}

/**
 * The metrics alias is gone (its index was deleted, or a new cluster is empty): writes to it are
 * refused instead of creating a concrete index of that name with guessed mappings. Sending them
 * again cannot help, so the run fails at once and its work stays pending; the next run installs
 * the index again and indexes every stored window into it.
 */
export class MetricsIndexMissingError extends Error {
  override readonly name = 'MetricsIndexMissingError';
  readonly code = 'metrics_index_missing';
  readonly retriable = false;
}

/** One bulk item that did not succeed. */
export interface BulkItemFailure {
  readonly id: string;
  readonly status: number;
  readonly type: string;
  readonly reason: string;
}

/** Whether a response status may turn into success when the request is sent again: too many requests (the flood-stage disk block among them), server errors. */
export function isRetriableItemStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Whether a failed bulk item may succeed when sent again: a retriable status, or a block on the
 * index or cluster (`cluster_block_exception`, 403 for a write or read-only block set by an
 * operator, e.g. during a snapshot or a shard move). Blocks lift; refusing the document for good
 * would lose its numbers, which are only written again when they change.
 */
export function isRetriableItemFailure(failure: Pick<BulkItemFailure, 'status' | 'type'>): boolean {
  return isRetriableItemStatus(failure.status) || failure.type === 'cluster_block_exception';
}

/**
 * Maps a client error to {@link ElasticsearchUnavailableError} when it is transient (no living
 * connection, connection error, timeout, 429, 5xx), to {@link ElasticsearchAuthError} when the
 * credentials or their privileges were refused; any other error is returned unchanged.
 */
export function classifyElasticsearchError(err: unknown): unknown {
  const refused = refusalOf(err);
  if (refused !== undefined) return new ElasticsearchAuthError(refused, { cause: err });
  const transient =
    err instanceof errors.ConnectionError ||
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoLivingConnectionsError ||
    (err instanceof errors.ResponseError && isRetriableItemStatus(err.statusCode ?? 0));
  return transient ? new ElasticsearchUnavailableError(err instanceof Error ? err.message : String(err), { cause: err }) : err;
}

function describeFailures(failures: readonly BulkItemFailure[]): string {
  const shown = failures.slice(0, 3).map((f) => `${f.status} ${f.type}: ${f.reason}`);
  return failures.length > 3 ? `${shown.join('; ')}; ...` : shown.join('; ');
}

/**
 * What an operator needs to read when Elasticsearch refused the credentials (401) or their
 * privileges (403 `security_exception`, not a 403 index block), else undefined. Names the
 * variables, never their values; Elasticsearch's own reason names the user and the privilege.
 */
function refusalOf(err: unknown): string | undefined {
  if (!(err instanceof errors.ResponseError)) return undefined;
  const body: unknown = err.body;
  const error = typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined;
  const type = typeof error === 'object' && error !== null && 'type' in error ? error.type : undefined;
  const reason = typeof error === 'object' && error !== null && 'reason' in error && typeof error.reason === 'string' ? error.reason : '';
  if (err.statusCode === 401)
    return `Elasticsearch refused the credentials (401${reason ? `: ${reason}` : ''}); check ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD`;
  if (err.statusCode === 403 && type === 'security_exception')
    return `Elasticsearch refused the request for lack of privileges (403${reason ? `: ${reason}` : ''}); see the privileges each service needs in the README`;
  return undefined;
}

/** A failed read of the metrics alias: a closed index says so (MetricsIndexUnreadableError), anything else as classified. */
export function classifiedReadError(err: unknown, alias: string): unknown {
  if (err instanceof errors.ResponseError && JSON.stringify(err.body ?? '').includes('index_closed_exception'))
    return new MetricsIndexUnreadableError(`the metrics index behind '${alias}' is closed: open it to read the numbers`, { cause: err });
  return classifyElasticsearchError(err);
}

/** Elasticsearch answered that the index (or alias) does not exist. */
export function isIndexMissing(err: unknown): boolean {
  return (
    err instanceof errors.ResponseError && err.statusCode === 404 && JSON.stringify(err.body ?? '').includes('index_not_found_exception')
  );
}
