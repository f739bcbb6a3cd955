/** The error a kafkajs error wraps, innermost first (kafkajs nests retried causes). */
function rootCause(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 10; depth++) {
    if (typeof current !== 'object' || current === null || !('cause' in current) || current.cause === undefined) return current;
    current = current.cause;
  }
  return current;
}

function field(err: unknown, name: 'type' | 'name'): string | undefined {
  if (typeof err !== 'object' || err === null || !(name in err)) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Broker answers that mean this member's place in the group changed: abandon the batch, rejoin. */
export const MEMBERSHIP_TYPES: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

/** Causes no restart can cure: credentials, permissions, a feature the client lacks, a bug. */
const PERMANENT_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_GROUP_ID',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const PERMANENT_NAMES = new Set([
  'KafkaJSSASLAuthenticationError',
  'KafkaJSNotImplemented',
  'TypeError',
  'ReferenceError',
  'RangeError',
  'SyntaxError',
]);

/** True when a heartbeat or commit failed because the group is rebalancing or forgot this member. */
export function isMembershipError(err: unknown): boolean {
  return [err, rootCause(err)].some((e) => MEMBERSHIP_TYPES.has(field(e, 'type') ?? ''));
}

/**
 * True when a consumer failure cannot be cured by rejoining (authorization, SASL, an unsupported
 * codec, a programming error). Everything else (lost broker, coordinator loading, rebalance,
 * timeouts) is transient: the member rejoins.
 */
export function isPermanentKafkaError(err: unknown): boolean {
  return [err, rootCause(err)].some((e) => PERMANENT_TYPES.has(field(e, 'type') ?? '') || PERMANENT_NAMES.has(field(e, 'name') ?? ''));
}

/** The broker's error type (`MESSAGE_TOO_LARGE`, `UNKNOWN_TOPIC_OR_PARTITION`, ...) of a kafkajs error or of what it wraps. */
export function brokerErrorType(err: unknown): string | undefined {
  return field(err, 'type') ?? field(rootCause(err), 'type');
}

/**
 * True when the broker says the topic (or partition) does not exist: deleted by an operator, or
 * not created yet. Transient for a consumer (the topic may come back), but worth saying so.
 */
export function isUnknownTopicError(err: unknown): boolean {
  return [err, rootCause(err)].some((e) => field(e, 'type') === 'UNKNOWN_TOPIC_OR_PARTITION');
}

/** The brokers refused the consumer group (GROUP_AUTHORIZATION_FAILED): no rejoin can cure it. */
export class KafkaGroupRefusedError extends Error {
  override readonly name = 'KafkaGroupRefusedError';
  readonly code = 'kafka_group_refused';
  readonly retriable = false;
}

/** The topic a consumer was started on does not exist: nothing to wait for at start, it must be created. */
export class KafkaTopicMissingError extends Error {
  override readonly name = 'KafkaTopicMissingError';
  readonly code = 'kafka_topic_missing';
  readonly retriable = false;
}
