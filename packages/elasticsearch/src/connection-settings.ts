import type { ElasticsearchSettings } from '@clickstream/config';
import type { ElasticsearchConnection } from './elasticsearch-client.ts';

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
