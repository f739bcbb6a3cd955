export { createElasticsearchClient, pingElasticsearch } from './elasticsearch-client.ts';
export type { ElasticsearchClient, ElasticsearchConnection } from './elasticsearch-client.ts';
