import { createHash } from 'node:crypto';
import { errors } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import type { BulkItemFailure } from './errors.ts';
import { BulkItemsRejectedError, BulkItemsRetriableError, classifyElasticsearchError, isRetriableItemFailure } from './errors.ts';

/**
 * A metric document Elasticsearch refused for good (or that is too large to send), as recorded in
 * the quarantine index: which window and group it was, why it was refused, and the document
 * itself when it is small enough to keep whole.
 */
export interface QuarantinedDocument {
  /** The metric document's `_id`; also the quarantine record's id, so a document refused again overwrites its record. */
  readonly document_id: string;
  /** The refused write, or `left_out`: a user's events the aggregator left out of a window (see {@link leftOutUserRecord}). */
  readonly action: 'index' | 'delete' | 'left_out';
  /** `hour`, `day`, `all`, or null when the document had none (a delete). */
  readonly granularity: string | null;
  /** The window start as the document carried it (kept as text: an unparseable date is a common reason). */
  readonly window_start: string | null;
  /** The url_key, cut to {@link KEPT_KEY_CHARS} characters; `url_length` is the full length. */
  readonly url: string | null;
  readonly url_length: number | null;
  /** The country, cut to {@link KEPT_KEY_CHARS} characters; `country_length` is the full length. */
  readonly country: string | null;
  readonly country_length: number | null;
  /** HTTP status of the refusal (413 for a document refused before sending because of its size). */
  readonly status: number;
  /** Elasticsearch's error type, e.g. `document_parsing_exception`, `illegal_argument_exception`. */
  readonly error_type: string;
  /** Elasticsearch's reason (with its cause), cut to {@link KEPT_REASON_CHARS} characters. */
  readonly reason: string;
  /** The refused document whole, or null when its JSON is longer than {@link KEPT_DOCUMENT_CHARS}. */
  readonly document: Record<string, unknown> | null;
  /** Length (UTF-16 units) and SHA-256 of the refused document's JSON, so a cut record still identifies it. */
  readonly document_chars: number;
  readonly document_sha256: string;
  readonly quarantined_at: string;
}

export const KEPT_KEY_CHARS = 2_048;
export const KEPT_REASON_CHARS = 4_096;
export const KEPT_DOCUMENT_CHARS = 65_536;

/**
 * The quarantine index's mapping: every field of a record always indexes, whatever the refused
 * document held. Keys and window starts are keywords with `ignore_above` (fine here: the record's
 * identity is its `_id`, and the full value stays in `_source`), dates that may not parse are
 * keywords, and the document itself is stored, not indexed.
 */
export const QUARANTINE_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    document_id: { type: 'keyword' },
    action: { type: 'keyword' },
    granularity: { type: 'keyword', ignore_above: 256 },
    window_start: { type: 'keyword', ignore_above: 256 },
    url: { type: 'keyword', ignore_above: KEPT_KEY_CHARS },
    url_length: { type: 'long' },
    country: { type: 'keyword', ignore_above: 256 },
    country_length: { type: 'long' },
    status: { type: 'integer' },
    error_type: { type: 'keyword', ignore_above: 256 },
    reason: { type: 'text' },
    document: { type: 'object', enabled: false },
    document_chars: { type: 'long' },
    document_sha256: { type: 'keyword' },
    quarantined_at: { type: 'date', format: 'strict_date_optional_time||epoch_millis' },
  },
} as const satisfies estypes.MappingTypeMapping;

/** The quarantine index of a metrics alias. Outside the `<alias>-v*` pattern, so the metrics template never applies to it. */
export function quarantineIndexName(alias: string): string {
  return `${alias}-quarantine`;
}

/** What a refused write carried, as the indexer hands it over. */
export interface RefusedWrite {
  readonly id: string;
  readonly action: 'index' | 'delete';
  /** The document (an index), or null (a delete). */
  readonly document: object | null;
  /** Its JSON as sent, or null (a delete). */
  readonly documentJson: string | null;
  readonly failure: BulkItemFailure;
}

/** Builds the record of one refused write. Pure apart from the clock passed in. */
export function quarantineRecord(refused: RefusedWrite, nowMs: number): QuarantinedDocument {
  const json = refused.documentJson ?? 'null';
  const fields: Record<string, unknown> = isRecord(refused.document) ? refused.document : {};
  const document = refused.document !== null && json.length <= KEPT_DOCUMENT_CHARS ? fields : null;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  const url = text(fields.url);
  const country = text(fields.country);
  return {
    document_id: refused.id,
    action: refused.action,
    granularity: cut(text(fields.granularity), 256),
    window_start: cut(text(fields.window_start), 256),
    url: cut(url, KEPT_KEY_CHARS),
    url_length: url?.length ?? null,
    country: cut(country, KEPT_KEY_CHARS),
    country_length: country?.length ?? null,
    status: refused.failure.status,
    error_type: refused.failure.type,
    reason: cut(refused.failure.reason, KEPT_REASON_CHARS) ?? '',
    document,
    document_chars: refused.documentJson?.length ?? 0,
    document_sha256: createHash('sha256').update(json, 'utf8').digest('hex'),
    quarantined_at: new Date(nowMs).toISOString(),
  };
}

/** A user whose events in one hour the aggregator could not hold within its memory limit. */
export interface LeftOutUser {
  readonly hourMs: number;
  readonly userId: string;
  /** The user's events in the hour and its 30-minute look-ahead, weighed as the limit counts them (one each, more for long strings). */
  readonly events: number;
  /** The limit they exceed (`AGGREGATOR_MAX_EVENTS_IN_MEMORY`). */
  readonly limit: number;
}

/**
 * The quarantine record of a user left out of an hour's numbers (so also of its day's and the
 * all-time numbers): one per (hour, user), under an id made of both, so a later run that leaves
 * the user out again replaces it. No document: `document_sha256` is the SHA-256 of the user id,
 * kept whole; `reason` gives the user id (cut to 256 characters), the events and the limit. Pure
 * apart from the clock passed in.
 */
export function leftOutUserRecord(user: LeftOutUser, nowMs: number): QuarantinedDocument {
  const windowStart = new Date(user.hourMs).toISOString();
  const userHash = createHash('sha256').update(user.userId, 'utf8').digest('hex');
  return {
    document_id: `left-out/hour/${windowStart}/${userHash}`,
    action: 'left_out',
    granularity: 'hour',
    window_start: windowStart,
    url: null,
    url_length: null,
    country: null,
    country_length: null,
    status: 413,
    error_type: 'user_over_memory_limit',
    reason:
      `user ${JSON.stringify(user.userId.slice(0, 256))} (${user.userId.length} characters) has ${user.events} events in this hour ` +
      `and its 30-minute look-ahead (each 1, plus 1 per 256 characters of its strings), more than ` +
      `AGGREGATOR_MAX_EVENTS_IN_MEMORY (${user.limit}): left out of the hour's ` +
      `documents, and so of its day's and all-time numbers; the events stay stored`,
    document: null,
    document_chars: 0,
    document_sha256: userHash,
    quarantined_at: new Date(nowMs).toISOString(),
  };
}

/**
 * Stores quarantine records durably (acknowledged by Elasticsearch) under their document ids;
 * creates the quarantine index on first use. Idempotent: a record written again replaces itself.
 *
 * @throws ElasticsearchUnavailableError / BulkItemsRetriableError when it may pass (retry).
 * @throws BulkItemsRejectedError when a record is refused, which its mapping is made to prevent.
 */
export async function storeQuarantineRecords(
  client: ElasticsearchClient,
  alias: string,
  records: readonly QuarantinedDocument[],
): Promise<void> {
  if (records.length === 0) return;
  const index = quarantineIndexName(alias);
  await ensureQuarantineIndex(client, index);
  let response;
  try {
    response = await client.driver.bulk({
      operations: records.flatMap((record) => [{ index: { _index: index, _id: record.document_id } }, record]),
    });
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
  if (!response.errors) return;
  const failures = response.items.flatMap((item, position): BulkItemFailure[] => {
    const result = item.index;
    if (result?.error === undefined) return [];
    return [
      { id: records[position]?.document_id ?? '?', status: result.status, type: result.error.type, reason: result.error.reason ?? '' },
    ];
  });
  if (failures.some(isRetriableItemFailure)) throw new BulkItemsRetriableError(failures);
  throw new BulkItemsRejectedError(failures);
}

/**
 * The quarantined documents of a metrics alias, most recent first (at most `limit`). An absent
 * quarantine index means none.
 */
export async function listQuarantinedDocuments(client: ElasticsearchClient, alias: string, limit = 100): Promise<QuarantinedDocument[]> {
  try {
    const response = await client.driver.search<QuarantinedDocument>({
      index: quarantineIndexName(alias),
      ignore_unavailable: true,
      size: limit,
      sort: [{ quarantined_at: 'desc' }, { document_id: 'asc' }],
    });
    return response.hits.hits.flatMap((hit) => (hit._source === undefined ? [] : [hit._source]));
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}

async function ensureQuarantineIndex(client: ElasticsearchClient, index: string): Promise<void> {
  try {
    if (await client.driver.indices.exists({ index })) return;
    await client.driver.indices.create({
      index,
      settings: { number_of_shards: 1, auto_expand_replicas: '0-1' },
      mappings: QUARANTINE_MAPPINGS,
    });
  } catch (err) {
    // Another writer created it first.
    if (err instanceof errors.ResponseError && JSON.stringify(err.body ?? '').includes('resource_already_exists_exception')) return;
    throw classifyElasticsearchError(err);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cut(value: string | null, chars: number): string | null {
  return value === null || value.length <= chars ? value : value.slice(0, chars);
}
