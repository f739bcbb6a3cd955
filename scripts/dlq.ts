/**
 * `npm run dlq -- [--max N] [--idle-ms MS] [--distinct]`: prints the dead-letter topic (KAFKA_DLQ_TOPIC,
 * default clickstream-dlq) from the beginning, one JSON record per line, then a count per reason of
 * the distinct source messages. Dead letters are sent at least once: ingest sends one again when it
 * processes its batch again (after a crash, or a rebalance that moved the partition before the
 * batch was committed). Repeats have the same source topic, partition and offset; they are counted
 * once, and `--distinct` prints them once. A record
 * whose value or key was cut to fit is followed, on stderr (stdout stays one JSON record per line),
 * by a `# truncated:` line with the original byte
 * length and SHA-256 (to match it to its source). Reads with a throw-away consumer group, so it
 * never moves the offsets of any service. Stops after `--max` records or when nothing new arrived
 * for `--idle-ms` (default 5000) since it joined its group; exits 1 when it cannot join in 60 s.
 * Reaches the brokers like the services: KAFKA_BROKERS, KAFKA_SSL and KAFKA_SASL_* (a wrong one: exit 2).
 */
import { ConfigError, MAX_TIMER_MS, parseCommandLine } from '@clickstream/config';
import { DEAD_LETTER_KEY_MAX_BYTES, DEAD_LETTER_VALUE_MAX_BYTES } from '@clickstream/events';
import { createKafkaClient, startBatchConsumer } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';
import { loadDlqConfig } from './dlq-config.ts';

const USAGE = `usage: npm run dlq -- [--max N] [--idle-ms MS] [--distinct]   (N a positive integer, MS one up to ${MAX_TIMER_MS})`;
const values = parseCommandLine(
  { max: { type: 'string' }, 'idle-ms': { type: 'string', default: '5000' }, distinct: { type: 'boolean', default: false } },
  USAGE,
);
/** A whole number from 1 to `most` written in decimal digits, else undefined. */
const wholeNumber = (text: string, most: number): number | undefined => {
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  return value >= 1 && value <= most ? value : undefined;
};
const max = values.max === undefined ? Infinity : wholeNumber(values.max, Number.MAX_SAFE_INTEGER);
// Past it a Node timer fires at once: the read would stop before it began.
const idleMs = wholeNumber(values['idle-ms'] ?? '', MAX_TIMER_MS);
if (max === undefined || idleMs === undefined) {
  console.error(USAGE);
  process.exit(2);
}
let dlqConfig: ReturnType<typeof loadDlqConfig>;
try {
  dlqConfig = loadDlqConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`dlq: ${err.message}`);
  process.exit(2);
}
const { topic, connection } = dlqConfig;
/** How long the reader may take to join its group before the read gives up. */
const JOIN_WAIT_MS = 60_000;
const brokers = connection.brokers;
const kafka = createKafkaClient(connection, createLogger({ service: 'dlq', level: 'fatal' }));

type Record = { [field: string]: unknown };

function parseRecord(text: string): Record | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record) : null;
  } catch {
    return null;
  }
}

/** Where a dead letter came from: `topic/partition@offset` (Kafka topic names hold neither `/` nor `@`). */
function sourceLabel(record: Record): string {
  return `${String(record.source_topic)}/${String(record.source_partition)}@${String(record.source_offset)}`;
}

/** The source message of a dead letter, or undefined when the record does not say. */
function sourceOf(record: Record | null): string | undefined {
  return record === null || record.source_offset === undefined ? undefined : sourceLabel(record);
}

/** One line saying what was cut: the source offset, the original sizes and their SHA-256. */
function truncationNote(record: Record): string {
  const parts = [`# truncated: ${sourceLabel(record)}`];
  if (record.value_truncated === true) {
    parts.push(
      `value was ${String(record.value_bytes)} bytes (first <= ${DEAD_LETTER_VALUE_MAX_BYTES} kept), sha256 ${String(record.value_sha256)}`,
    );
  }
  if (record.key_truncated === true) {
    parts.push(`key was ${String(record.key_bytes)} bytes (first ${DEAD_LETTER_KEY_MAX_BYTES} kept), sha256 ${String(record.key_sha256)}`);
  }
  return parts.join('; ');
}

/** Distinct dead letters per reason; the source messages seen; records that repeat one of them; records read. */
const reasons = new Map<string, number>();
const seen = new Set<string>();
let repeated = 0;
let read = 0;
let finish!: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));
// The idle wait starts once the reader joined its group: a slow join must not end the read early.
let joined = false;
let idle = setTimeout(() => {
  console.error(`dlq: no partition of ${topic} assigned after ${JOIN_WAIT_MS / 1000} s`);
  process.exitCode = 1;
  finish();
}, JOIN_WAIT_MS);
let consumer: Awaited<ReturnType<typeof startBatchConsumer>>;
try {
  consumer = await startBatchConsumer(kafka, {
    groupId: `clickstream-dlq-reader-${process.pid}-${Date.now()}`,
    topic,
    onAssignment: () => {
      if (joined) return;
      joined = true;
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    },
    handleBatch: (batch) => {
      clearTimeout(idle);
      for (const message of batch.messages) {
        if (read >= max) break;
        const text = message.value?.toString('utf8') ?? 'null';
        const record = parseRecord(text);
        read += 1;
        const source = sourceOf(record);
        if (source !== undefined && seen.has(source)) {
          repeated += 1;
          if (values.distinct) continue;
        } else {
          if (source !== undefined) seen.add(source);
          const reason = typeof record?.reason === 'string' ? record.reason : 'unknown';
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        }
        console.log(text);
        if (record?.value_truncated === true || record?.key_truncated === true) console.error(truncationNote(record));
      }
      if (read >= max) finish();
      else idle = setTimeout(finish, idleMs);
      return Promise.resolve();
    },
    onFatal: (err) => {
      console.error(`dlq: cannot read ${topic}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
      finish();
    },
  });
} catch (err) {
  console.error(
    `dlq: cannot read ${topic} on ${brokers.join(',')}: ${err instanceof Error ? err.message : String(err)} (does the topic exist? ingest creates it at start; do KAFKA_SSL and KAFKA_SASL_* match the brokers?)`,
  );
  process.exit(1);
}
await finished;
clearTimeout(idle);
await consumer.stop();
const distinct = [...reasons.values()].reduce((sum, n) => sum + n, 0);
console.error(
  `dlq: ${read} dead letter(s) in ${topic}, ${distinct} distinct${reasons.size > 0 ? `: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}` +
    (repeated > 0 ? `; ${repeated} repeated${values.distinct ? ' (not printed)' : ''} (the same source message sent again)` : ''),
);
