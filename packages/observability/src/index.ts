export { createLogger, LOG_LEVELS } from './logger.ts';
export type { Logger, LogLevel } from './logger.ts';
export { Counter, Gauge, Histogram, Registry, createMetricsRegistry } from './service-metrics.ts';
export { READ_METHODS, isReadMethod, startOpsServer } from './http-server.ts';
export type { FallbackHandler, Liveness, OpsServer, Readiness } from './http-server.ts';
