import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { toUrlKey } from '@clickstream/events';
import { buildMetricDocument, metricDocumentId } from '@clickstream/metrics';
import type { MetricDocument } from '@clickstream/metrics';
import { createLogger } from '@clickstream/observability';
import { RetriesExhaustedError } from '@clickstream/retry';
import {
  BulkItemsRejectedError,
  BulkItemsRetriableError,
  MetricsIndexConflictError,
  MetricsIndexMissingError,
  createElasticsearchClient,
  createMetricsIndexer,
  deleteHourDocumentsBefore,
  identifyMetricsIndex,
  installMetricsIndex,
  latestMetricsVersion,
  listQuarantinedDocuments,
  metricsIndexNames,
  quarantineIndexName,
  searchMetrics,
  topMetrics,
} from './index.ts';
import type { ElasticsearchClient, MetricWrite, QuarantinedDocument } from './index.ts';

const logger = createLogger({ service: 'test', level: 'warn' });
const prefix = `it-metrics-${process.pid}-${Date.now().toString(36)}`;
const fastRetry = { attempts: 4, initialDelayMs: 20, maxDelayMs: 100 };
let client: ElasticsearchClient;

/** A final document of one user's clicks in the window starting at `windowStartMs`. */
function windowWrite(
  granularity: 'hour' | 'day',
  windowStartMs: number,
  url: string,
  clicks = 1,
  country = 'FR',
): Extract<MetricWrite, { action: 'index' }> {
  const document = buildMetricDocument({
    granularity,
    windowStartMs,
    url,
    country,
    clicks,
    uniqueUsers: 1,
    uniqueUsersExact: true,
    timeSpentSumMs: 0,
    timeSpentSamples: 0,
    final: true,
    updatedAtMs: Date.UTC(2024, 0, 2),
  });
  return { action: 'index', id: metricDocumentId(granularity, windowStartMs, url, country), document };
}

function hourWrite(hour: number, url: string, clicks = 1, country = 'FR'): Extract<MetricWrite, { action: 'index' }> {
  return windowWrite('hour', Date.UTC(2024, 0, 1, hour), url, clicks, country);
}

async function count(alias: string): Promise<number> {
  await client.driver.indices.refresh({ index: alias });
  return (await client.driver.count({ index: alias })).count;
}

before(() => {
  client = createElasticsearchClient({ url: process.env.ELASTICSEARCH_URL ?? 'http://localhost:9200' }, logger);
});
after(async () => {
  await client.driver.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  await client.driver.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
  await client.close();
});

describe('installMetricsIndex', () => {
  test('when installed twice, then one versioned index carries the alias as write index, with the strict spec mapping', async () => {
    const alias = `${prefix}-install`;
    const first = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const second = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.deepEqual(second, first);
    assert.equal(first.index, `${alias}-v1`);
    const aliases = await client.driver.indices.getAlias({ name: alias });
    assert.deepEqual(Object.keys(aliases), [first.index]);
    assert.equal(aliases[first.index]?.aliases[alias]?.is_write_index, true);
    const mapping = await client.driver.indices.getMapping({ index: alias });
    const properties = mapping[first.index]?.mappings.properties ?? {};
    assert.equal(mapping[first.index]?.mappings.dynamic, 'strict');
    assert.deepEqual(Object.fromEntries(Object.entries(properties).map(([field, spec]) => [field, spec.type])), {
      granularity: 'keyword',
      window_start: 'date',
      window_end: 'date',
      url: 'keyword',
      country: 'keyword',
      clicks: 'long',
      unique_users: 'long',
      unique_users_exact: 'boolean',
      time_spent_sum_ms: 'long',
      time_spent_samples: 'long',
      avg_time_spent_ms: 'double',
      final: 'boolean',
      updated_at: 'date',
    });
  });

  test('when the replicas setting changes, then the existing index follows it; its primary shards stay as created', async () => {
    const alias = `${prefix}-replicas`;
    const names = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const settings = async (): Promise<[string | undefined, string | undefined]> => {
      const index = (await client.driver.indices.getSettings({ index: names.index }))[names.index]?.settings?.index;
      return [String(index?.number_of_shards), String(index?.number_of_replicas)];
    };
    // One node: the replica stays unassigned (health yellow), which the install waits for.
    await installMetricsIndex(client, { alias, shards: 2, replicas: 1 });
    assert.deepEqual(await settings(), ['1', '1']);
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.deepEqual(await settings(), ['1', '0']);
  });

  test('when the alias lost its index link, then installing again restores it', async () => {
    const alias = `${prefix}-repair`;
    const names = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    await client.driver.indices.deleteAlias({ index: names.index, name: alias });
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.equal(await client.driver.indices.existsAlias({ name: alias, index: names.index }), true);
  });

  test('when the alias was rolled over by hand to a new write index, then installing again leaves the alias as it is', async () => {
    const alias = `${prefix}-rolled`;
    const names = await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const next = `${alias}-v2`;
    await client.driver.indices.rollover({ alias, new_index: next });
    // Every start (MIGRATE_ON_START) and `npm run migrate` installs: making -v1 the write index
    // again was refused ("more than one write index") and the service could not start.
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const aliases = await client.driver.indices.getAlias({ name: alias });
    assert.deepEqual(Object.keys(aliases).sort(), [names.index, next]);
    assert.equal(aliases[next]?.aliases[alias]?.is_write_index, true);
    assert.equal(aliases[names.index]?.aliases[alias]?.is_write_index, false);
  });

  test('when the alias name is a concrete index, then installing fails with a conflict naming it', async () => {
    const alias = `${prefix}-taken`;
    await client.driver.indices.create({ index: alias });
    await assert.rejects(installMetricsIndex(client, { alias, shards: 1, replicas: 0 }), (err: unknown) => {
      assert.ok(err instanceof MetricsIndexConflictError);
      assert.match(err.message, new RegExp(alias));
      return true;
    });
  });
});

describe('identifyMetricsIndex', () => {
  test('when the index is deleted, then it is missing without install, and installed again with a new UUID and no documents with it', async () => {
    const alias = `${prefix}-identity`;
    const options = { alias, shards: 1, replicas: 0 };
    const names = await installMetricsIndex(client, options);
    await createMetricsIndexer(client, { alias, bulkSize: 10, retry: fastRetry }).write([hourWrite(1, '/a'), hourWrite(2, '/a')]);
    await client.driver.indices.refresh({ index: alias });
    const first = await identifyMetricsIndex(client, { ...options, install: false });
    assert.deepEqual(await identifyMetricsIndex(client, { ...options, install: true }), first, 'the same index, not installed again');
    assert.equal(first.documents, 2);

    await client.driver.indices.delete({ index: names.index });
    await assert.rejects(identifyMetricsIndex(client, { ...options, install: false }), MetricsIndexMissingError);
    assert.equal(await client.driver.indices.exists({ index: names.index }), false, 'nothing installed without install');
    const second = await identifyMetricsIndex(client, { ...options, install: true });
    assert.notEqual(second.uuid, first.uuid);
    assert.equal(second.documents, 0);
    assert.equal(await client.driver.indices.existsAlias({ name: alias, index: names.index }), true);
  });

  test('when the alias spans indices, with or without a write index, then identifying it fails with a conflict naming them; once one is left, that one is identified', async () => {
    const alias = `${prefix}-spanning`;
    const options = { alias, shards: 1, replicas: 0 };
    const names = await installMetricsIndex(client, options);
    const other = `${prefix}-spanning-other`;
    await client.driver.indices.create({ index: other, settings: { number_of_replicas: 0 } });
    // An operator's restore or reindex leaves two indices behind the alias, neither marked for writes.
    await client.driver.indices.updateAliases({
      actions: [{ add: { index: names.index, alias, is_write_index: false } }, { add: { index: other, alias } }],
    });
    const spanning = (err: unknown): boolean =>
      err instanceof MetricsIndexConflictError && err.message.includes(names.index) && err.message.includes(other);
    for (const install of [false, true]) await assert.rejects(identifyMetricsIndex(client, { ...options, install }), spanning);
    // A rollover by hand: the new index takes the writes, the old one still answers every read,
    // so each document republished into the new one would be read (and summed) twice.
    await client.driver.indices.updateAliases({ actions: [{ add: { index: other, alias, is_write_index: true } }] });
    for (const install of [false, true]) await assert.rejects(identifyMetricsIndex(client, { ...options, install }), spanning);
    await client.driver.indices.updateAliases({ actions: [{ remove: { index: names.index, alias } }] });
    const settings = await client.driver.indices.getSettings({ index: other });
    const identity = await identifyMetricsIndex(client, { ...options, install: false });
    assert.equal(identity.uuid, settings[other]?.settings?.index?.uuid);
    assert.equal(identity.documents, 0);
  });
});

describe('latestMetricsVersion', () => {
  test('when runs wrote documents under growing versions, then the latest one is found; none without documents or alias', async () => {
    const alias = `${prefix}-latest`;
    assert.equal(await latestMetricsVersion(client, alias), undefined, 'no alias');
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    assert.equal(await latestMetricsVersion(client, alias), undefined, 'no documents');
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 10, retry: fastRetry });
    const at = (write: Extract<MetricWrite, { action: 'index' }>, updatedAtMs: number, version: bigint) => ({
      ...write,
      document: { ...write.document, updated_at: new Date(updatedAtMs).toISOString() },
      version,
    });
    const older = (41n << 32n) + 7n;
    const newer = (42n << 32n) + 3n;
    await indexer.write([
      at(hourWrite(1, '/latest-a'), Date.UTC(2024, 0, 2), newer),
      at(hourWrite(2, '/latest-b'), Date.UTC(2024, 0, 1), older),
    ]);
    await client.driver.indices.refresh({ index: alias });
    assert.equal(await latestMetricsVersion(client, alias), newer);
  });
});

describe('metrics indexer', () => {
  const alias = `${prefix}-bulk`;
  before(async () => {
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
  });

  test('when the same documents are written twice, then they are overwritten, not duplicated, and deletes remove them', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 3, retry: fastRetry });
    const writes = [0, 1, 2, 3, 4].map((hour) => hourWrite(hour, '/a'));
    assert.deepEqual(await indexer.write(writes), { indexed: 5, deleted: 0, quarantined: 0 });
    await indexer.write([...writes.slice(0, 4), hourWrite(4, '/a', 9)]);
    assert.equal(await count(alias), 5);
    const last = await client.driver.get<{ clicks: number }>({ index: alias, id: hourWrite(4, '/a').id });
    assert.equal(last._source?.clicks, 9);
    const deletes: MetricWrite[] = [writes[0], hourWrite(23, '/never-written')].map((w) => ({ action: 'delete', id: w?.id ?? '' }));
    assert.deepEqual(await indexer.write(deletes), { indexed: 0, deleted: 2, quarantined: 0 });
    assert.equal(await count(alias), 4);
  });

  test('when fencing versions lie past 2^53, then a write one version older is refused and one newer lands', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 10, retry: fastRetry });
    // Versions of tokens past 2^21 under the 32-bit sequence: as numbers, these three would be one value.
    const version = 2n ** 60n + 2n;
    await indexer.write([{ ...hourWrite(5, '/fenced', 1), version }]);
    await assert.rejects(indexer.write([{ ...hourWrite(5, '/fenced', 2), version: version - 1n }]), BulkItemsRejectedError);
    await indexer.write([{ ...hourWrite(5, '/fenced', 3), version: version + 1n }]);
    const stored = await client.driver.get<{ clicks: number }>({ index: alias, id: hourWrite(5, '/fenced').id });
    assert.equal(stored._source?.clicks, 3);
    assert.equal(stored._version, Number(version + 1n));
  });

  test("when documents are written, then each bulk answer carries only the items' status and errors (no per-item metadata to parse)", async () => {
    const answers: unknown[] = [];
    const onResponse = (_err: unknown, result: { meta: { request: { params: { path: string } } }; body: unknown } | null): void => {
      if (result?.meta.request.params.path.includes('/_bulk')) answers.push(result.body);
    };
    client.driver.diagnostic.on('response', onResponse);
    try {
      const indexer = createMetricsIndexer(client, { alias, bulkSize: 2, retry: fastRetry });
      const writes = [15, 16, 17].map((hour) => hourWrite(hour, '/answers'));
      assert.deepEqual(await indexer.write([...writes, { action: 'delete', id: hourWrite(18, '/never-written').id }]), {
        indexed: 3,
        deleted: 1,
        quarantined: 0,
      });
    } finally {
      client.driver.diagnostic.off('response', onResponse);
    }
    assert.equal(answers.length, 2, 'two bulks of at most 2');
    assert.deepEqual(answers, [
      { errors: false, items: [{ index: { status: 201 } }, { index: { status: 201 } }] },
      { errors: false, items: [{ index: { status: 201 } }, { delete: { status: 404 } }] },
    ]);
  });

  test('when a bulk mixes refused and good documents, then the good ones land and the refused ones are quarantined with window, group and reason', async () => {
    let retries = 0;
    const seen: QuarantinedDocument[] = [];
    const indexer = createMetricsIndexer(client, {
      alias,
      bulkSize: 100,
      retry: fastRetry,
      onRetry: () => (retries += 1),
      onQuarantine: (records) => seen.push(...records),
    });
    const immenseCountry = hourWrite(10, '/q1', 1, 'X'.repeat(33_000));
    const base = hourWrite(11, '/q1').document;
    const yearMinusOne: MetricWrite = {
      action: 'index',
      id: 'year-minus-one',
      document: {
        ...base,
        window_start: new Date(Date.UTC(-1, 0, 1)).toISOString(),
        window_end: new Date(Date.UTC(-1, 0, 1, 1)).toISOString(),
      },
    };
    const notANumber: MetricWrite = {
      action: 'index',
      id: 'not-a-number',
      document: { ...base, clicks: 'many' } as unknown as MetricDocument,
    };
    const good = [hourWrite(12, '/q1'), hourWrite(13, '/q1'), hourWrite(14, '/q1')] as const;
    const before = await count(alias);

    const summary = await indexer.write([good[0], immenseCountry, yearMinusOne, good[1], notANumber, good[2]]);
    assert.deepEqual(summary, { indexed: 3, deleted: 0, quarantined: 3 });
    assert.equal(retries, 0, 'a refusal is not retried');
    assert.equal(await count(alias), before + 3);
    for (const w of good) assert.equal(await client.driver.exists({ index: alias, id: w.id }), true);
    for (const id of [immenseCountry.id, 'year-minus-one', 'not-a-number'])
      assert.equal(await client.driver.exists({ index: alias, id }), false);

    await client.driver.indices.refresh({ index: quarantineIndexName(alias) });
    const records = new Map((await listQuarantinedDocuments(client, alias)).map((r) => [r.document_id, r]));
    assert.deepEqual([...records.keys()].sort(), [immenseCountry.id, 'not-a-number', 'year-minus-one'].sort());
    assert.deepEqual(seen.map((r) => r.document_id).sort(), [...records.keys()].sort(), 'reported to onQuarantine once each');
    const country = records.get(immenseCountry.id);
    assert.equal(country?.status, 400);
    assert.match(country?.reason ?? '', /immense term/);
    assert.equal(country?.granularity, 'hour');
    assert.equal(country?.window_start, '2024-01-01T10:00:00.000Z');
    assert.equal(country?.url, '/q1');
    assert.equal(country?.country_length, 33_000);
    assert.equal(country?.country?.length, 2_048, 'the key is kept cut');
    assert.equal(country?.document?.country, 'X'.repeat(33_000), 'the document is kept whole while it is small enough');
    assert.match(records.get('year-minus-one')?.reason ?? '', /failed to parse/);
    assert.equal(records.get('year-minus-one')?.window_start, '-000001-01-01T00:00:00.000Z');
    assert.match(records.get('not-a-number')?.reason ?? '', /clicks/);

    // Refused again (a later run recomputing the window): the record is replaced, not added to.
    await indexer.write([immenseCountry]);
    await client.driver.indices.refresh({ index: quarantineIndexName(alias) });
    assert.equal((await listQuarantinedDocuments(client, alias)).length, 3);
  });

  test('when users are left out of an hour, then each gets one record in the quarantine index, replaced when left out again', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry });
    const hourMs = Date.UTC(2024, 0, 3, 7);
    const flood = { hourMs, userId: `bot-${'x'.repeat(5_000)}`, events: 2_000_001, limit: 2_000_000 };
    await indexer.recordLeftOut([flood, { ...flood, userId: 'other', events: 2_000_500 }]);
    await indexer.recordLeftOut([{ ...flood, events: 2_000_009 }]);
    await client.driver.indices.refresh({ index: quarantineIndexName(alias) });
    const records = (await listQuarantinedDocuments(client, alias)).filter((r) => r.action === 'left_out');
    assert.equal(records.length, 2);
    const record = records.find((r) => r.reason.includes('bot-'));
    assert.equal(record?.window_start, '2024-01-03T07:00:00.000Z');
    assert.equal(record?.error_type, 'user_over_memory_limit');
    assert.match(record?.reason ?? '', /\(5004 characters\) has 2000009 events/);
    assert.equal(record?.document_sha256, createHash('sha256').update(flood.userId).digest('hex'), 'the whole id, by its hash');
  });

  test('when a document is longer than the limit, then it is quarantined unsent, and bulks are cut by size', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry, maxDocumentChars: 5_000, maxBulkChars: 2_000 });
    const huge = hourWrite(15, `/${'u'.repeat(70_000)}`);
    const small = [16, 17, 18, 19, 20, 21].map((hour) => hourWrite(hour, '/q2'));
    assert.deepEqual(await indexer.write([...small, huge]), { indexed: 6, deleted: 0, quarantined: 1 });
    assert.equal(await client.driver.exists({ index: alias, id: huge.id }), false);
    await client.driver.indices.refresh({ index: quarantineIndexName(alias) });
    const record = (await listQuarantinedDocuments(client, alias)).find((r) => r.document_id === huge.id);
    assert.equal(record?.status, 413);
    assert.equal(record?.error_type, 'document_too_large');
    assert.equal(record?.url_length, 70_001);
    assert.equal(record?.document, null, 'a document this large is not kept whole; its length and hash are');
    assert.equal(record?.document_chars, JSON.stringify(huge.document).length);
  });

  test('when keys are at the contract bounds and dates span the accepted range, then every document indexes and is found by its keys', async () => {
    const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry });
    // The longest url_key the v2 contract allows: 2,048 characters (code points), each 4-byte one percent-encoded to 12 bytes.
    const longestPath = toUrlKey(`/${'\u{1F600}'.repeat(2_047)}`) ?? '';
    const longestHost = toUrlKey(`https://${'ü'.repeat(1_000)}.example/${'\u{1F600}'.repeat(500)}`) ?? '';
    assert.ok(longestPath.length > 24_500 && longestHost.length > 6_000, `${longestPath.length}, ${longestHost.length}`);
    const firstDay = Date.UTC(2000, 0, 1);
    const lastDay = Math.floor((Date.now() + 24 * 3_600_000) / 86_400_000) * 86_400_000;
    const dayWrite = (dayMs: number, url: string, country: string): MetricWrite => ({
      action: 'index',
      id: metricDocumentId('day', dayMs, url, country),
      document: buildMetricDocument({
        granularity: 'day',
        windowStartMs: dayMs,
        url,
        country,
        clicks: Number.MAX_SAFE_INTEGER,
        uniqueUsers: 1,
        uniqueUsersExact: true,
        timeSpentSumMs: Number.MAX_SAFE_INTEGER,
        timeSpentSamples: 1,
        final: false,
        updatedAtMs: Date.now(),
      }),
    });
    const writes = [dayWrite(firstDay, longestPath, 'ZZ'), dayWrite(lastDay, longestHost, 'US'), dayWrite(lastDay, longestPath, 'FR')];
    assert.deepEqual(await indexer.write(writes), { indexed: 3, deleted: 0, quarantined: 0 });
    await client.driver.indices.refresh({ index: alias });
    const found = await searchMetrics(client, alias, { url: longestPath, granularity: 'day', limit: 10 });
    assert.deepEqual(
      found.rows.map((r) => [r.window_start, r.country]),
      [
        ['2000-01-01T00:00:00.000Z', 'ZZ'],
        [new Date(lastDay).toISOString(), 'FR'],
      ],
    );
    assert.equal((await searchMetrics(client, alias, { url: longestHost, granularity: 'day', country: 'US', limit: 10 })).total, 1);
  });

  // Blocks an operator or Elasticsearch puts on the index, and lifts: the flood-stage disk block
  // (429), a write block or a read-only index set by hand (403, e.g. during a snapshot or a move).
  const blocks = [
    ['flood-stage block, 429', 'index.blocks.read_only_allow_delete'],
    ['write block, 403', 'index.blocks.write'],
    ['read-only block, 403', 'index.blocks.read_only'],
  ] as const;
  for (const [name, block] of blocks) {
    test(`when the index refuses writes for a while (${name}), then the failed items are retried and land, none quarantined`, async () => {
      const { index } = metricsIndexNames(alias);
      await client.driver.indices.putSettings({ index, settings: { [block]: true } });
      const seen: unknown[] = [];
      const quarantined: QuarantinedDocument[] = [];
      // Every lift sent, awaited before the test ends: a late one would lift the next test's block.
      const lifts: Promise<unknown>[] = [];
      const indexer = createMetricsIndexer(client, {
        alias,
        bulkSize: 100,
        // Lifting the block is asynchronous: leave it enough attempts to land.
        retry: { attempts: 10, initialDelayMs: 50, maxDelayMs: 400 },
        onRetry: (err) => {
          seen.push(err);
          // The block lifts after the first failure: the next attempt must succeed.
          lifts.push(client.driver.indices.putSettings({ index, settings: { [block]: null } }));
        },
        onQuarantine: (records) => quarantined.push(...records),
      });
      try {
        const before = await count(alias);
        const summary = await indexer.write([hourWrite(7, `/c-${block}`), hourWrite(8, `/c-${block}`)]);
        assert.deepEqual(quarantined, [], 'a block passes: nothing is refused for good');
        assert.deepEqual(summary, { indexed: 2, deleted: 0, quarantined: 0 });
        assert.ok(seen.length >= 1 && seen.every((err) => err instanceof BulkItemsRetriableError), 'retried after item failures');
        assert.equal(await count(alias), before + 2);
      } finally {
        await Promise.allSettled(lifts);
        // A read-only index refuses settings changes too, except lifting the block itself.
        await client.driver.indices.putSettings({ index, settings: { [block]: null } });
      }
    });

    test(`when the index keeps refusing writes (${name}), then the write fails once the attempts are used up`, async () => {
      const { index } = metricsIndexNames(alias);
      await client.driver.indices.putSettings({ index, settings: { [block]: true } });
      try {
        const indexer = createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry });
        await assert.rejects(indexer.write([hourWrite(9, `/d-${block}`)]), (err: unknown) => {
          assert.ok(err instanceof RetriesExhaustedError);
          assert.equal(err.attempts, fastRetry.attempts);
          assert.ok(err.cause instanceof BulkItemsRetriableError);
          return true;
        });
      } finally {
        await client.driver.indices.putSettings({ index, settings: { [block]: null } });
      }
    });
  }
});

describe('hour-document retention', () => {
  const alias = `${prefix}-retention`;
  before(async () => {
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
  });

  test('when hour documents started before the cutoff, then exactly those are deleted, more than a page of them, and the day documents stay', async () => {
    // 3 hours x 500 pages before the cutoff (more than one page of deletes), 2 hours x 2 pages after it.
    const old = [0, 1, 2].flatMap((hour) => Array.from({ length: 500 }, (_, page) => hourWrite(hour, `/old-${page}`)));
    const kept = [3, 4].flatMap((hour) => [hourWrite(hour, '/a'), hourWrite(hour, '/b')]);
    const dayWrite = windowWrite('day', Date.UTC(2024, 0, 1), '/a', 2);
    await createMetricsIndexer(client, { alias, bulkSize: 1_000, retry: fastRetry }).write([...old, ...kept, dayWrite]);
    // An older index the alias also spans (an operator's reindex), holding one more old hour document.
    const older = `${alias}-older`;
    const stray = hourWrite(1, '/in-the-older-index');
    await client.driver.index({ index: older, id: stray.id, document: stray.document });
    await client.driver.indices.updateAliases({ actions: [{ add: { index: older, alias, is_write_index: false } }] });
    assert.equal(await count(alias), 1_506);
    assert.equal(await deleteHourDocumentsBefore(client, alias, Date.UTC(2024, 0, 1, 3)), 1_501);
    assert.equal(await count(alias), 5, 'the 4 later hour documents and the day document');
    assert.equal(await deleteHourDocumentsBefore(client, alias, Date.UTC(2024, 0, 1, 3)), 0, 'nothing left to delete');
  });
});

describe('metric queries', () => {
  const alias = `${prefix}-query`;
  before(async () => {
    await installMetricsIndex(client, { alias, shards: 1, replicas: 0 });
    const writes = [
      hourWrite(1, '/q', 5),
      hourWrite(2, '/q', 7),
      hourWrite(3, '/q', 9),
      hourWrite(2, '/q', 4, 'DE'),
      hourWrite(2, '/other', 50),
    ];
    await createMetricsIndexer(client, { alias, bulkSize: 100, retry: fastRetry }).write(writes);
    await client.driver.indices.refresh({ index: alias });
  });

  test('when a url, country and hour range are asked for, then exactly those windows come back in time order', async () => {
    const { rows, total } = await searchMetrics(client, alias, {
      url: '/q',
      country: 'FR',
      granularity: 'hour',
      fromMs: Date.UTC(2024, 0, 1, 2),
      toMs: Date.UTC(2024, 0, 1, 4),
      limit: 10,
    });
    assert.equal(total, 2);
    assert.deepEqual(
      rows.map((r) => [r.window_start, r.clicks]),
      [
        ['2024-01-01T02:00:00.000Z', 7],
        ['2024-01-01T03:00:00.000Z', 9],
      ],
    );
  });

  test('when no country is given, then every country of the url comes back, and the limit caps the rows but not the total', async () => {
    const { rows, total } = await searchMetrics(client, alias, { url: '/q', granularity: 'hour', limit: 3 });
    assert.equal(total, 4);
    assert.deepEqual(
      rows.map((r) => `${r.window_start?.slice(11, 13)} ${r.country}`),
      ['01 FR', '02 DE', '02 FR'],
    );
  });

  test('when the top groups are asked for, then they come most clicks first', async () => {
    const { rows } = await topMetrics(client, alias, { granularity: 'hour', limit: 2 });
    assert.deepEqual(
      rows.map((r) => [r.url, r.clicks]),
      [
        ['/other', 50],
        ['/q', 9],
      ],
    );
  });
});
