import type { ElasticsearchConnection } from './elasticsearch-client.ts';

/** The ELASTICSEARCH_* variables as a service's configuration parses them (see `elasticsearchEnv` in @clickstream/config). */
export interface ElasticsearchSettings {
  readonly ELASTICSEARCH_URL: string;
  readonly ELASTICSEARCH_API_KEY?: string | undefined;
  readonly ELASTICSEARCH_USERNAME?: string | undefined;
  readonly ELASTICSEARCH_PASSWORD?: string | undefined;
}

/** The connection parsed ELASTICSEARCH_* settings describe: an API key, else basic auth when a user is set. */
export function elasticsearchConnectionOf(settings: ElasticsearchSettings): ElasticsearchConnection {
  return {
    url: settings.ELASTICSEARCH_URL,
    ...(settings.ELASTICSEARCH_API_KEY ? { apiKey: settings.ELASTICSEARCH_API_KEY } : {}),
    ...(settings.ELASTICSEARCH_USERNAME
      ? { username: settings.ELASTICSEARCH_USERNAME, password: settings.ELASTICSEARCH_PASSWORD ?? '' }
      : {}),
  };
}
