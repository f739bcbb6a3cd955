import { errors } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import type { ElasticsearchClient } from './elasticsearch-client.ts';
import { MetricsIndexConflictError, MetricsIndexMissingError, classifyElasticsearchError } from './errors.ts';
import { quarantineIndexName } from './quarantine-index.ts';

/**
 * Version of the metrics mapping. A change of mapping gets a new version, hence a new index
 * (`<alias>-v<version>`) that the alias can be moved to once it is filled; an existing index is
 * never changed in place.
 */
export const METRICS_INDEX_VERSION = 1;

/**
 * How dates are written and read. Stated rather than left to the default (the same value) so
 * that the whole accepted range, [2000-01-01, ingest time + 24 h] and the window ends that follow
 * from it, always parses, whatever a cluster's defaults become. Dates outside four-digit years
 * (which only v1 rows can hold) are refused and quarantined by the indexer.
 */
export const METRICS_DATE_FORMAT = 'strict_date_optional_time||epoch_millis';

/**
 * The mapping of a metric document, exactly as shared/spec/metrics.md lists it; other fields are
 * refused.
 *
 * `url` and `country` identify a document (they are hashed into its `_id`) and are what every
 * query filters on, so they carry no `ignore_above`: that option would index a longer value
 * silently unsearchable, a document no query finds whose numbers still count in nothing. Every
 * value the v2 contract allows fits a keyword as it is: a url_key comes from a url of at most
 * 2,048 UTF-16 units, so after percent-encoding it is at most ~24,600 bytes, under Lucene's
 * 32,766-byte term limit, and a country is ISO alpha-2 or `ZZ`. A longer value (v1 rows may hold
 * anything) is refused by Elasticsearch ("immense term") and quarantined, never indexed hidden.
 */
export const METRICS_MAPPINGS = {
  dynamic: 'strict',
  properties: {
    granularity: { type: 'keyword' },
    window_start: { type: 'date', format: METRICS_DATE_FORMAT },
    window_end: { type: 'date', format: METRICS_DATE_FORMAT },
    url: { type: 'keyword' },
    country: { type: 'keyword' },
    clicks: { type: 'long' },
    unique_users: { type: 'long' },
    unique_users_exact: { type: 'boolean' },
    time_spent_sum_ms: { type: 'long' },
    time_spent_samples: { type: 'long' },
    avg_time_spent_ms: { type: 'double' },
    final: { type: 'boolean' },
    updated_at: { type: 'date', format: METRICS_DATE_FORMAT },
  },
} as const;

/** The names behind one metrics alias. */
export interface MetricsIndexNames {
  /** What writers and readers use (ELASTICSEARCH_INDEX). */
  readonly alias: string;
  /** The concrete, versioned index the alias points to. */
  readonly index: string;
  /** The composable index template giving `<alias>-v*` indices their settings and mappings. */
  readonly template: string;
  /** Where documents Elasticsearch refused for good are recorded (created on first use). */
  readonly quarantine: string;
}

export function metricsIndexNames(alias: string): MetricsIndexNames {
  return { alias, index: `${alias}-v${METRICS_INDEX_VERSION}`, template: `${alias}-template`, quarantine: quarantineIndexName(alias) };
}

/**
 * Installs the index template, creates the versioned index and points the alias at it (as the
 * write index). Idempotent and safe to run from several replicas at once: an existing template is
 * overwritten with the same content, an existing index and alias are kept, the index's replicas
 * set to `replicas` when they differ (a dynamic setting; its primary shards stay as created).
 * Waits until the index can take writes (health yellow).
 *
 * @throws MetricsIndexConflictError when the alias name is taken by a concrete index, or the
 *   existing index's mapping conflicts with {@link METRICS_MAPPINGS}.
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function installMetricsIndex(
  client: ElasticsearchClient,
  options: { alias: string; shards: number; replicas: number },
): Promise<MetricsIndexNames> {
  const names = metricsIndexNames(options.alias);
  const es = client.driver;
  try {
    await es.indices.putIndexTemplate({
      name: names.template,
      index_patterns: [`${options.alias}-v*`],
      template: {
        settings: { number_of_shards: options.shards, number_of_replicas: options.replicas },
        mappings: METRICS_MAPPINGS,
      },
      _meta: { description: 'clickstream metric documents (shared/spec/metrics.md)', version: METRICS_INDEX_VERSION },
    });
    if ((await es.indices.exists({ index: options.alias })) && !(await es.indices.existsAlias({ name: options.alias }))) {
      throw new MetricsIndexConflictError(
        `'${options.alias}' is a concrete index, not an alias: delete it or choose another ELASTICSEARCH_INDEX`,
      );
    }
    if (await es.indices.exists({ index: names.index })) {
      await putSameMapping(client, names.index);
      await putReplicas(client, names.index, options.replicas);
    } else {
      await createIndex(client, names);
    }
    // Only a missing alias is repaired. An alias an operator moved or rolled over to another index
    // is left as it is (identifyMetricsIndex judges it): making this index its write index again
    // would be refused beside another write index ("more than one write index"), and every start
    // and `npm run migrate` then failed.
    if ((await indicesBehind(client, options.alias)) === undefined)
      await es.indices.updateAliases({ actions: [{ add: { index: names.index, alias: options.alias, is_write_index: true } }] });
    await es.cluster.health({ index: names.index, wait_for_status: 'yellow', timeout: '30s' });
    return names;
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}

async function createIndex(client: ElasticsearchClient, names: MetricsIndexNames): Promise<void> {
  try {
    await client.driver.indices.create({ index: names.index, aliases: { [names.alias]: { is_write_index: true } } });
  } catch (err) {
    // Another replica created it first: fine, as long as its mapping is ours.
    if (!(
      err instanceof errors.ResponseError &&
      err.body !== null &&
      JSON.stringify(err.body).includes('resource_already_exists_exception')
    ))
      throw err;
    await putSameMapping(client, names.index);
  }
}

/** Sets an existing index's replicas when they differ (only then: a settings update is a cluster state change). */
async function putReplicas(client: ElasticsearchClient, index: string, replicas: number): Promise<void> {
  const settings = await client.driver.indices.getSettings({ index, name: 'index.number_of_replicas' });
  if (settings[index]?.settings?.index?.number_of_replicas === String(replicas)) return;
  await client.driver.indices.putSettings({ index, settings: { index: { number_of_replicas: replicas } } });
}

/** Puts the mapping on an existing index: a no-op when it is the same, an error naming the conflict otherwise. */
async function putSameMapping(client: ElasticsearchClient, index: string): Promise<void> {
  try {
    await client.driver.indices.putMapping({ index, ...METRICS_MAPPINGS });
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 400) {
      throw new MetricsIndexConflictError(
        `index '${index}' has a mapping that conflicts with version ${METRICS_INDEX_VERSION}: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Which index the metrics alias writes to: its UUID (new for every index created) and how many documents it holds. */
export interface MetricsIndexIdentity {
  readonly uuid: string;
  readonly documents: number;
}

/**
 * The index the alias writes to, installed again first when the alias is gone (its index was
 * deleted, or the cluster is new) and `install` is set. A caller that records the UUID it published into sees from a
 * different one that the index lost documents (replaced, restored from a snapshot, emptied) and
 * must index everything again.
 *
 * @throws MetricsIndexConflictError as {@link installMetricsIndex}.
 * @throws MetricsIndexMissingError when the alias is gone and `install` is not set (`npm run migrate` installs it).
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function identifyMetricsIndex(
  client: ElasticsearchClient,
  options: { alias: string; shards: number; replicas: number; install: boolean },
): Promise<MetricsIndexIdentity> {
  const es = client.driver;
  try {
    let indices = await indicesBehind(client, options.alias);
    if (indices === undefined) {
      if (!options.install)
        throw new MetricsIndexMissingError(`the metrics alias '${options.alias}' is missing: install it with npm run migrate`);
      // Also refuses, naming it, a concrete index that took the alias's name.
      await installMetricsIndex(client, options);
      indices = (await indicesBehind(client, options.alias)) ?? {};
    }
    const entries = Object.entries(indices);
    // Documents are updated in place by id: behind an alias of several indices (a rollover by hand,
    // a restore added beside the index) every document republished into the write index would
    // also stay in the others, and every read through the alias would count it once per index.
    if (entries.length > 1)
      throw new MetricsIndexConflictError(
        `the alias '${options.alias}' spans ${entries.length} indices (${entries.map(([name]) => name).join(', ')}): ` +
          'reads would count each document once per index; remove all but one from the alias',
      );
    const [writeIndex, state] = entries[0] ?? [];
    const uuid = state?.settings?.index?.uuid;
    if (writeIndex === undefined || uuid === undefined)
      throw new MetricsIndexConflictError(`the alias '${options.alias}' has no write index`);
    const { count } = await es.count({ index: writeIndex });
    return { uuid, documents: count };
  } catch (err) {
    throw classifyElasticsearchError(err);
  }
}

/**
 * The external version of the document written last through the alias (the latest `updated_at`),
 * or undefined when there is none or no alias. The aggregator's versions grow with its lease's
 * fencing token, so this tells which token the index has seen writes of.
 *
 * @throws ElasticsearchUnavailableError when Elasticsearch does not answer (retriable).
 */
export async function latestMetricsVersion(client: ElasticsearchClient, alias: string): Promise<bigint | undefined> {
  try {
    const found = await client.driver.search({
      index: alias,
      size: 1,
      version: true,
      _source: false,
      sort: [{ updated_at: { order: 'desc' } }],
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    const version = found.hits.hits[0]?._version;
    return version === undefined ? undefined : BigInt(Math.floor(version));
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
    throw classifyElasticsearchError(err);
  }
}

/** The indices behind an alias with their aliases and settings (one request); undefined when there is no such alias, or the name is a concrete index. */
async function indicesBehind(client: ElasticsearchClient, alias: string): Promise<Record<string, estypes.IndicesIndexState> | undefined> {
  try {
    const indices = await client.driver.indices.get({ index: alias, features: ['aliases', 'settings'] });
    return alias in indices ? undefined : indices;
  } catch (err) {
    if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
    throw err;
  }
}
