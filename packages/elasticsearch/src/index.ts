export { createElasticsearchClient, pingElasticsearch } from './elasticsearch-client.ts';
export type { ElasticsearchClient, ElasticsearchConnection } from './elasticsearch-client.ts';
export {
  BulkItemsRejectedError,
  BulkItemsRetriableError,
  ElasticsearchAuthError,
  ElasticsearchUnavailableError,
  MetricsIndexConflictError,
  MetricsIndexMissingError,
  MetricsIndexUnreadableError,
  classifyElasticsearchError,
} from './errors.ts';
export type { BulkItemFailure } from './errors.ts';
export {
  METRICS_DATE_FORMAT,
  METRICS_INDEX_VERSION,
  METRICS_MAPPINGS,
  identifyMetricsIndex,
  installMetricsIndex,
  latestMetricsVersion,
  metricsIndexNames,
} from './index-template.ts';
export type { MetricsIndexIdentity, MetricsIndexNames } from './index-template.ts';
export { createMetricsIndexer } from './metrics-indexer.ts';
export type { MetricWrite, MetricsIndexer, MetricsIndexerOptions, WriteSummary } from './metrics-indexer.ts';
export { QUARANTINE_MAPPINGS, leftOutUserRecord, listQuarantinedDocuments, quarantineIndexName } from './quarantine-index.ts';
export type { LeftOutUser, QuarantinedDocument } from './quarantine-index.ts';
export { elasticsearchConnectionOf } from './connection-settings.ts';
export { searchMetrics, topMetrics, windowsLeftNotFinal } from './metrics-queries.ts';
export type { MetricRows } from './metrics-queries.ts';
export { checkCredentialsAccepted, checkMetricsReadable, metricsUnreadableReason } from './metrics-probes.ts';
export { clicksPerWindow, latestWindowStartMs, metricsFreshness, topOfWindow } from './dashboard-queries.ts';
export type {
  ClicksPoint,
  DashboardFilter,
  DashboardRequestOptions,
  MetricsFreshness,
  OpenWindow,
  TopList,
  TopRow,
  TopSort,
} from './dashboard-queries.ts';
export { deleteHourDocumentsBefore } from './metrics-retention.ts';
