import type { estypes } from '@elastic/elasticsearch';
import type { MetricDocument } from '@clickstream/metrics';
import { retryWithBackoff } from '@clickstream/retry';
import type { RetryPolicy } from '@clickstream/retry';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import type { BulkItemFailure } from './errors.ts';
import {
  BulkItemsRejectedError,
  BulkItemsRetriableError,
  MetricsIndexMissingError,
  classifyElasticsearchError,
  isRetriableItemFailure,
} from './errors.ts';
import { leftOutUserRecord, quarantineRecord, storeQuarantineRecords } from './quarantine-index.ts';
import type { LeftOutUser } from './quarantine-index.ts';
import type { QuarantinedDocument, RefusedWrite } from './quarantine-index.ts';

/** One change to the metrics alias: (over)write a document under its deterministic id, or delete it. */
export type MetricWrite = (
  { readonly action: 'index'; readonly id: string; readonly document: MetricDocument } | { readonly action: 'delete'; readonly id: string }
) & {
  /**
   * A fencing version (larger for each newer lease grant): Elasticsearch refuses the write (409)
   * when the document already has a larger one, and the write then fails instead of quarantining.
   */
  readonly version?: bigint;
};

/** What {@link MetricsIndexer.write} did. `indexed` and `deleted` exclude the quarantined writes. */
export interface WriteSummary {
  readonly indexed: number;
  readonly deleted: number;
  readonly quarantined: number;
}

export interface MetricsIndexer {
  /**
   * Applies the writes in bulk requests of at most `bulkSize` items and `maxBulkChars` characters.
   * Every item's result is checked:
   * - items that failed for a passing reason (429, 5xx, connection trouble) are sent again with
   *   backoff, alone, up to the retry policy's attempts;
   * - items refused for good (mapping errors, immense terms, illegal arguments, or a document
   *   longer than `maxDocumentChars`, refused before sending) are recorded in the quarantine index
   *   with their window, group and reason, logged, reported to `onQuarantine`, and skipped: the
   *   other items still land, and the write resolves.
   * Idempotent: an `index` overwrites the document of its id, deleting a missing document counts
   * as done, and a document quarantined again overwrites its record.
   *
   * @throws RetriesExhaustedError when items (or quarantine records) still fail after the last attempt.
   * @throws BulkItemsRejectedError when the quarantine index itself refuses a record (its mapping is made to take any).
   */
  write(writes: readonly MetricWrite[], signal?: AbortSignal): Promise<WriteSummary>;
  /**
   * Records users left out of an hour in the quarantine index ({@link leftOutUserRecord}), with
   * retries; not reported to `onQuarantine` (the caller counts them).
   *
   * @throws RetriesExhaustedError when a record still fails after the last attempt.
   */
  recordLeftOut(users: readonly LeftOutUser[], signal?: AbortSignal): Promise<void>;
}

export interface MetricsIndexerOptions {
  readonly alias: string;
  readonly bulkSize: number;
  readonly retry: RetryPolicy;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Called once the refused documents' records are stored (count them, alert on them). */
  readonly onQuarantine?: (records: readonly QuarantinedDocument[]) => void;
  /** Longest document JSON sent, in UTF-16 units; a longer one is quarantined unsent. Default 1 Mi. */
  readonly maxDocumentChars?: number;
  /** Longest bulk request body, in UTF-16 units (bounds request size and memory). Default 8 Mi. */
  readonly maxBulkChars?: number;
  readonly now?: () => number;
}

export const DEFAULT_MAX_DOCUMENT_CHARS = 1024 * 1024;
export const DEFAULT_MAX_BULK_CHARS = 8 * 1024 * 1024;

/** A write with its bulk lines already serialised (once: their length decides the chunking). */
interface Serialised {
  readonly write: MetricWrite;
  readonly documentJson: string | null;
  readonly lines: string;
}

export function createMetricsIndexer(client: ElasticsearchClient, options: MetricsIndexerOptions): MetricsIndexer {
  const maxDocumentChars = options.maxDocumentChars ?? DEFAULT_MAX_DOCUMENT_CHARS;
  const maxBulkChars = options.maxBulkChars ?? DEFAULT_MAX_BULK_CHARS;
  const now = options.now ?? Date.now;
  // Only ever into the alias: were its index deleted, Elasticsearch would otherwise create a
  // concrete index of that name with guessed mappings, and the alias could not be installed again.
  // The answer keeps each item's status and error only (in order, as sent): a full run's ~300,000
  // items would otherwise bring ~200 bytes of metadata each for the client to parse.
  const path = `/${encodeURIComponent(options.alias)}/_bulk?require_alias=true&filter_path=errors,items.*.status,items.*.error`;

  /** Sends one chunk until every item landed or was refused for good; returns the refused ones. */
  async function writeChunk(chunk: readonly Serialised[], signal: AbortSignal | undefined): Promise<RefusedWrite[]> {
    let pending = chunk;
    const refused: RefusedWrite[] = [];
    await retryWithBackoff(
      `bulk write of ${chunk.length} metric documents`,
      async () => {
        signal?.throwIfAborted();
        const outcome = await sendBulk(client, path, pending, signal);
        refused.push(...outcome.refused);
        // Only the failed items go again: the others are done (or quarantined) and need no second write.
        pending = outcome.retriable.map((failed) => failed.item);
        if (pending.length > 0) throw new BulkItemsRetriableError(outcome.retriable.map((failed) => failed.failure));
      },
      options.retry,
      { ...(options.onRetry ? { onRetry: options.onRetry } : {}), ...(signal ? { signal } : {}) },
    );
    return refused;
  }

  /** Stores quarantine records, retried by the indexer's policy. */
  async function storeRecords(what: string, records: readonly QuarantinedDocument[], signal: AbortSignal | undefined): Promise<void> {
    await retryWithBackoff(what, () => storeQuarantineRecords(client, options.alias, records), options.retry, {
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  async function quarantine(refused: readonly RefusedWrite[], signal: AbortSignal | undefined): Promise<void> {
    if (refused.length === 0) return;
    const records = refused.map((r) => quarantineRecord(r, now()));
    await storeRecords(`recording ${records.length} quarantined metric documents`, records, signal);
    for (const record of records) {
      client.logger.warn(
        {
          documentId: record.document_id,
          granularity: record.granularity,
          windowStart: record.window_start,
          url: record.url?.slice(0, 200),
          urlLength: record.url_length,
          country: record.country?.slice(0, 200),
          countryLength: record.country_length,
          status: record.status,
          errorType: record.error_type,
          reason: record.reason.slice(0, 500),
        },
        'metric document refused for good: quarantined and skipped',
      );
    }
    options.onQuarantine?.(records);
  }

  return {
    async write(writes, signal) {
      const quarantined = { index: 0, delete: 0 };
      let chunk: Serialised[] = [];
      let chunkChars = 0;
      const flush = async (): Promise<void> => {
        if (chunk.length === 0) return;
        const refused = await writeChunk(chunk, signal);
        await quarantine(refused, signal);
        for (const r of refused) quarantined[r.action] += 1;
        chunk = [];
        chunkChars = 0;
      };
      const tooLarge: RefusedWrite[] = [];
      for (const write of writes) {
        const item = serialise(write);
        if (item.documentJson !== null && item.documentJson.length > maxDocumentChars) {
          tooLarge.push({
            id: write.id,
            action: write.action,
            document: write.action === 'index' ? write.document : null,
            documentJson: item.documentJson,
            failure: {
              id: write.id,
              status: 413,
              type: 'document_too_large',
              reason: `the document's JSON has ${item.documentJson.length} characters, more than the ${maxDocumentChars} sent at most`,
            },
          });
          continue;
        }
        if (chunk.length >= options.bulkSize || (chunk.length > 0 && chunkChars + item.lines.length > maxBulkChars)) await flush();
        chunk.push(item);
        chunkChars += item.lines.length;
      }
      await flush();
      signal?.throwIfAborted();
      await quarantine(tooLarge, signal);
      for (const r of tooLarge) quarantined[r.action] += 1;
      const deletes = writes.filter((w) => w.action === 'delete').length;
      return {
        indexed: writes.length - deletes - quarantined.index,
        deleted: deletes - quarantined.delete,
        quarantined: quarantined.index + quarantined.delete,
      };
    },

    async recordLeftOut(users, signal) {
      if (users.length === 0) return;
      const records = users.map((user) => leftOutUserRecord(user, now()));
      await storeRecords(`recording ${records.length} users left out of an hour`, records, signal);
    },
  };
}

function serialise(write: MetricWrite): Serialised {
  const id = JSON.stringify(write.id);
  const fence = write.version === undefined ? '' : `,"version":${write.version},"version_type":"external_gte"`;
  if (write.action === 'delete') return { write, documentJson: null, lines: `{"delete":{"_id":${id}${fence}}}\n` };
  const documentJson = JSON.stringify(write.document);
  return { write, documentJson, lines: `{"index":{"_id":${id}${fence}}}\n${documentJson}\n` };
}

interface BulkOutcome {
  readonly retriable: { readonly item: Serialised; readonly failure: BulkItemFailure }[];
  readonly refused: RefusedWrite[];
}

/** Sends one bulk request (its body serialised once, here) and sorts the failed items (if any) into retriable and refused. */
async function sendBulk(
  client: ElasticsearchClient,
  path: string,
  items: readonly Serialised[],
  signal: AbortSignal | undefined,
): Promise<BulkOutcome> {
  let response: estypes.BulkResponse;
  try {
    response = await client.driver.transport.request<estypes.BulkResponse>(
      { method: 'POST', path, bulkBody: items.map((item) => item.lines).join('') },
      signal ? { signal } : {},
    );
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
  const outcome: BulkOutcome = { retriable: [], refused: [] };
  if (!response.errors) return outcome;
  response.items.forEach((result, position) => {
    const status = result.index ?? result.delete;
    const item = items[position];
    if (status === undefined || item === undefined) throw new Error(`bulk response item ${position} does not match the request`);
    const { write } = item;
    // Checked before a delete's 404, which otherwise means the document is already gone.
    if (status.error?.type === 'index_not_found_exception')
      throw new MetricsIndexMissingError(`the metrics alias is missing (its index was deleted?): ${describeError(status.error)}`);
    const alreadyDeleted = write.action === 'delete' && status.status === 404;
    if (status.error === undefined || alreadyDeleted) return;
    const failure = { id: write.id, status: status.status, type: status.error.type, reason: describeError(status.error) };
    // A newer lease holder wrote this document: this writer is fenced off and must stop, not quarantine.
    if (status.error.type === 'version_conflict_engine_exception') throw new BulkItemsRejectedError([failure]);
    if (isRetriableItemFailure(failure)) {
      outcome.retriable.push({ item, failure });
    } else {
      outcome.refused.push({
        id: write.id,
        action: write.action,
        document: write.action === 'index' ? write.document : null,
        documentJson: item.documentJson,
        failure,
      });
    }
  });
  return outcome;
}

/** The error's reason with its causes ("failed to parse field [country] ... / Document contains at least one immense term ..."). */
function describeError(error: estypes.ErrorCause): string {
  const reasons: string[] = [];
  for (let cause: estypes.ErrorCause | undefined = error; cause !== undefined && reasons.length < 4; cause = cause.caused_by) {
    // Each cut short: a reason may quote the refused value (a "preview" of a 33,000-char term).
    reasons.push(`${cause.type}: ${(cause.reason ?? '').slice(0, 500)}`);
  }
  return reasons.join(' / ');
}
