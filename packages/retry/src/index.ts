export { RetriesExhaustedError, isRetriable, retryWithBackoff } from './retry-with-backoff.ts';
export type { RetryPolicy } from './retry-with-backoff.ts';
