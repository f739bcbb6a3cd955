/**
 * `npm run dlq -- [--max N] [--idle-ms MS]`: prints the dead-letter topic (KAFKA_DLQ_TOPIC, default
 * clickstream-dlq) from the beginning, one JSON record per line, then a count per reason. Reads
 * with a throw-away consumer group, so it never moves the offsets of any service. Stops after
 * `--max` records or when nothing new arrived for `--idle-ms` (default 5000).
 */
import { parseArgs } from 'node:util';
import { createKafkaClient, startBatchConsumer } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';

const { values } = parseArgs({ options: { max: { type: 'string' }, 'idle-ms': { type: 'string', default: '5000' } } });
const max = values.max === undefined ? Infinity : Number(values.max);
const idleMs = Number(values['idle-ms']);
if (!(max > 0) || !(idleMs > 0)) {
  console.error('usage: npm run dlq -- [--max N] [--idle-ms MS]   (N and MS positive numbers)');
  process.exit(2);
}
const topic = process.env.KAFKA_DLQ_TOPIC || 'clickstream-dlq';
const brokers = (process.env.KAFKA_BROKERS || 'localhost:9092').split(',');
const kafka = createKafkaClient(
  { brokers, clientId: 'clickstream-dlq-reader', retries: 2 },
  createLogger({ service: 'dlq', level: 'fatal' }),
);

const reasons = new Map<string, number>();
let printed = 0;
let finish!: () => void;
const finished = new Promise<void>((resolve) => (finish = resolve));
let idle = setTimeout(finish, idleMs * 3);
let consumer: Awaited<ReturnType<typeof startBatchConsumer>>;
try {
  consumer = await startBatchConsumer(kafka, {
    groupId: `clickstream-dlq-reader-${process.pid}-${Date.now()}`,
    topic,
    handleBatch: (batch) => {
      clearTimeout(idle);
      for (const message of batch.messages) {
        if (printed >= max) break;
        const text = message.value?.toString('utf8') ?? 'null';
        console.log(text);
        const reason = (JSON.parse(text) as { reason?: string } | null)?.reason ?? 'unknown';
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        printed += 1;
      }
      if (printed >= max) finish();
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
    `dlq: cannot read ${topic} on ${brokers.join(',')}: ${err instanceof Error ? err.message : String(err)} (does the topic exist? ingest creates it at start)`,
  );
  process.exit(1);
}
await finished;
clearTimeout(idle);
await consumer.stop();
console.error(
  `dlq: ${printed} dead letter(s) in ${topic}${reasons.size > 0 ? `: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}`,
);
