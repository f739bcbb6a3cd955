import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CassandraUnavailableError } from '@clickstream/cassandra';
import type { EventsRepository, PendingHoursRepository, WriteEventsOutcome } from '@clickstream/cassandra';
import type { EnrichedClick } from '@clickstream/events';
import type { ConsumedBatch, ConsumedMessage, MessageProducer, OutgoingMessage } from '@clickstream/kafka';
import { createLogger, createMetricsRegistry } from '@clickstream/observability';
import { RetriesExhaustedError } from '@clickstream/retry';
import { createBatchHandler } from './batch-handler.ts';
import type { BatchHandlerDependencies } from './batch-handler.ts';
import { createIngestMetrics } from './ingest-metrics.ts';
import type { ProcessedBatch } from './process-batch.ts';
import { storedClick } from '../../../test/support/stored-click.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Lets the handler's promises run until `condition` holds (no clock: a bounded number of turns of the event loop). */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1_000 && !condition(); turn++) await new Promise((r) => setImmediate(r));
  assert.ok(condition(), 'condition not reached');
}
const HOUR_MS = 3_600_000;

function click(id: string): EnrichedClick {
  const facts = {
    eventId: id,
    userId: 'u',
    sessionId: null,
    eventTimeMs: 10 * HOUR_MS,
    urlKey: '/p',
    country: 'ZZ',
    timeSpentMs: null,
    isBot: false,
  };
  return { ...storedClick(facts), ingestedAt: new Date(11 * HOUR_MS) };
}

/** A message per value: `id:<x>` is a valid click with id x, anything else is invalid. */
function messages(...values: string[]): ConsumedMessage[] {
  return values.map((value, i) => ({
    topic: 't',
    partition: 0,
    offset: String(100 + i),
    key: null,
    value: Buffer.from(value),
    timestampMs: 0,
  }));
}

/** The pure steps, faked: decoding is "id:<x>" or a dead letter. */
function fakeProcess(batch: readonly ConsumedMessage[]): ProcessedBatch {
  const out: ProcessedBatch = { rows: [], sources: [], deadLetters: [], affectedHoursMs: [10 * HOUR_MS], ignoredHints: {} };
  for (const m of batch) {
    const text = m.value?.toString() ?? '';
    if (text.startsWith('id:')) {
      out.rows.push(click(text.slice(3)));
      out.sources.push(m);
    } else
      out.deadLetters.push({
        key: null,
        value: `{"reason":"invalid_json","source_offset":"${m.offset}"}`,
        reason: 'invalid_json',
        offset: m.offset,
      });
  }
  return out;
}

interface Harness {
  steps: string[];
  sent: OutgoingMessage[];
  written: string[][];
  heartbeats: number;
  running: boolean;
  deps: BatchHandlerDependencies;
  batch: ConsumedBatch;
}

/** The clock the handler is given: a store_rejected dead letter says it failed then. */
const HANDLER_NOW_MS = Date.UTC(2031, 4, 6, 7, 8, 9);

function harness(values: string[], write: (rows: readonly EnrichedClick[], attempt: number) => WriteEventsOutcome | Error): Harness {
  const h: Harness = { steps: [], sent: [], written: [], heartbeats: 0, running: true } as unknown as Harness;
  let attempt = 0;
  const events: EventsRepository = {
    writeEvents: (rows) => {
      h.steps.push('rows');
      h.written.push(rows.map((r) => r.eventId));
      const result = write(rows, ++attempt);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
    readEvents: () => Promise.resolve([]),
  };
  const pendingHours: PendingHoursRepository = {
    mark: () => {
      h.steps.push('markers');
      return Promise.resolve();
    },
    pending: () => Promise.resolve({ days: [], hours: [] }),
    release: () => Promise.resolve(),
  };
  const deadLetters: MessageProducer = {
    send: (_topic, sent) => {
      h.steps.push('dead letters');
      h.sent.push(...sent);
      return Promise.resolve();
    },
    disconnect: () => Promise.resolve(),
  };
  h.deps = {
    process: fakeProcess,
    events,
    pendingHours,
    deadLetters,
    deadLetterTopic: 'dlq',
    retryPolicy: { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 },
    metrics: createIngestMetrics(createMetricsRegistry('test')),
    logger,
    now: () => new Date(HANDLER_NOW_MS),
  };
  h.batch = {
    topic: 't',
    partition: 0,
    messages: messages(...values),
    lagAfter: 0,
    heartbeat: () => {
      h.heartbeats++;
      h.steps.push('heartbeat');
      return Promise.resolve();
    },
    isRunning: () => h.running,
  };
  return h;
}

const stored = (): WriteEventsOutcome => ({ rejected: [], unwritten: [] });
const outage = (rows: readonly EnrichedClick[]): WriteEventsOutcome => ({
  rejected: [],
  unwritten: [...rows],
  failure: new CassandraUnavailableError('Socket was closed'),
});

test('when a batch has valid and invalid messages, then the rows, the dead letters and, after the rows, the markers are written before it resolves', async () => {
  const h = harness(['id:a', 'bad', 'id:b'], stored);
  await createBatchHandler(h.deps)(h.batch);
  const steps = h.steps.filter((s) => s !== 'heartbeat');
  assert.deepEqual([...steps].sort(), ['dead letters', 'markers', 'rows']);
  assert.ok(steps.indexOf('rows') < steps.indexOf('markers'), 'markers only after the rows');
  assert.deepEqual(h.written, [['a', 'b']]);
  assert.deepEqual(
    h.sent.map((m) => m.headers?.reason),
    ['invalid_json'],
  );
});

test('when the dead-letter send is slow, then the rows are written meanwhile, and the batch resolves only once the dead letters are acknowledged', async () => {
  const h = harness(['id:a', 'bad'], stored);
  const ack = Promise.withResolvers<void>();
  const real = h.deps.deadLetters;
  h.deps.deadLetters = {
    ...real,
    send: async (topic, sent) => {
      await ack.promise;
      await real.send(topic, sent);
    },
  };
  let resolved = false;
  const handled = createBatchHandler(h.deps)(h.batch).then(() => (resolved = true));
  await until(() => h.steps.includes('markers'));
  assert.deepEqual(h.written, [['a']], 'rows written while the dead letters are in flight');
  assert.equal(resolved, false, 'not durable before the dead letters are acknowledged');
  ack.resolve();
  await handled;
  assert.equal(h.sent.length, 1);
});

test('when the row write is slow, then the markers wait for it (the aggregator must find the rows of a marker)', async () => {
  const rowsDone = Promise.withResolvers<void>();
  const h = harness(['id:a', 'bad'], stored);
  const real = h.deps.events;
  h.deps.events = {
    ...real,
    writeEvents: async (rows) => {
      const outcome = await real.writeEvents(rows);
      await rowsDone.promise;
      return outcome;
    },
  };
  const handled = createBatchHandler(h.deps)(h.batch);
  await until(() => h.sent.length === 1);
  assert.ok(!h.steps.includes('markers'), 'no marker while the rows are not durable');
  rowsDone.resolve();
  await handled;
  assert.equal(h.steps.filter((s) => s === 'markers').length, 1);
});

test('when the batch is abandoned after its rows are written, then it returns early without markers, after its dead-letter send settled', async () => {
  const h = harness(['id:a', 'bad'], () => {
    h.running = false;
    return stored();
  });
  await createBatchHandler(h.deps)(h.batch);
  assert.deepEqual([...h.steps].sort(), ['dead letters', 'rows']);
});

test('when Cassandra fails transiently, then only the unwritten rows are written again, with a heartbeat between attempts', async () => {
  const h = harness(['id:a', 'id:b', 'id:c'], (rows, attempt) => {
    if (attempt === 1)
      return { rejected: [], unwritten: rows.filter((r) => r.eventId !== 'a'), failure: new CassandraUnavailableError('timeout') };
    if (attempt === 2) return outage(rows);
    return stored();
  });
  const retrying: boolean[] = [];
  await createBatchHandler({ ...h.deps, onRetrying: (r) => retrying.push(r) })(h.batch);
  assert.deepEqual(h.written, [
    ['a', 'b', 'c'],
    ['b', 'c'],
    ['b', 'c'],
  ]);
  // Every retry is preceded and followed by a heartbeat.
  assert.deepEqual(h.steps.slice(0, 7), ['rows', 'heartbeat', 'heartbeat', 'rows', 'heartbeat', 'heartbeat', 'rows']);
  assert.deepEqual(retrying, [true, false], 'readiness is told once when retrying starts and once when it ends');
  assert.equal(h.steps.at(-1), 'markers');
  assert.ok(!h.steps.includes('dead letters'), 'no dead letter to send, no send');
});

test('when the outage outlasts the retry budget, then the handler rejects without any marker', async () => {
  const h = harness(['id:a', 'bad'], outage);
  await assert.rejects(createBatchHandler(h.deps)(h.batch), RetriesExhaustedError);
  assert.equal(h.steps.filter((s) => s === 'rows').length, 4);
  assert.ok(!h.steps.includes('markers'));
});

test('when the consumer loses the batch during retries, then the handler stops retrying and resolves without the later steps', async () => {
  const h = harness(['id:a'], (rows, attempt) => {
    if (attempt === 2) h.running = false;
    return outage(rows);
  });
  await createBatchHandler(h.deps)(h.batch);
  assert.equal(h.steps.filter((s) => s === 'rows').length, 2);
  assert.ok(!h.steps.includes('markers'));
});

test('when Cassandra refuses one row for its content, then it becomes a store_rejected dead letter of its source message and the rest is stored', async () => {
  const h = harness(['id:a', 'id:huge', 'bad', 'id:c'], (rows) => ({
    rejected: rows
      .filter((r) => r.eventId === 'huge')
      .map((event) => ({ event, message: 'Key length of 70000 is longer than maximum of 65535' })),
    unwritten: [],
  }));
  await createBatchHandler(h.deps)(h.batch);
  assert.deepEqual(
    h.sent.map((m) => m.headers?.reason),
    ['invalid_json', 'store_rejected'],
  );
  const record = JSON.parse(String(h.sent[1]?.value)) as Record<string, unknown>;
  assert.equal(record.reason, 'store_rejected');
  assert.equal(record.failed_at, new Date(HANDLER_NOW_MS).toISOString(), "the handler's clock, as every dead letter's");
  assert.equal(record.source_offset, '101');
  assert.equal(record.value, 'id:huge');
  assert.match(String(record.message), /Key length/);
  const metrics = await h.deps.metrics.stored.get();
  assert.equal(metrics.values[0]?.value, 2, 'two of three rows stored');
  const steps = h.steps.filter((s) => s !== 'heartbeat');
  assert.equal(steps.lastIndexOf('dead letters'), steps.length - 2, "the refused row's dead letter only once the rows are written");
  assert.equal(steps.at(-1), 'markers');
});

test('when the dead-letter topic fails transiently, then the send is retried and the batch resolves only after it succeeded', async () => {
  const h = harness(['bad'], stored);
  let failures = 1;
  const real = h.deps.deadLetters;
  h.deps.deadLetters = {
    ...real,
    send: (topic, sent) => (failures-- > 0 ? Promise.reject(new Error('broker gone')) : real.send(topic, sent)),
  };
  await createBatchHandler(h.deps)(h.batch);
  assert.equal(h.sent.length, 1);
  assert.equal(failures, -1, 'sent twice');
  assert.ok(h.steps.includes('markers'));
});

test('when several batches become durable while a marker round is written, then they share the next round, over the union of their hours', async () => {
  const rounds: number[][] = [];
  const firstRound = Promise.withResolvers<void>();
  const h = harness(['id:a'], stored);
  h.deps.pendingHours = {
    ...h.deps.pendingHours,
    mark: async (hours) => {
      rounds.push([...hours]);
      if (rounds.length === 1) await firstRound.promise;
    },
  };
  const hoursOf: Record<string, number[]> = { a: [10 * HOUR_MS], b: [10 * HOUR_MS, 11 * HOUR_MS], c: [12 * HOUR_MS] };
  h.deps.process = (batch) => ({ ...fakeProcess(batch), affectedHoursMs: hoursOf[batch[0]?.value?.toString().slice(3) ?? ''] ?? [] });
  // Every store operation goes through the watch: one row write and one marker wait per batch.
  let tracked = 0;
  const handle = createBatchHandler({
    ...h.deps,
    storeWatch: {
      track: (operation) => {
        tracked++;
        return operation;
      },
    },
  });
  const batchOf = (value: string): ConsumedBatch => ({ ...h.batch, messages: messages(value) });
  const done = [handle(batchOf('id:a'))];
  await until(() => rounds.length === 1);
  done.push(handle(batchOf('id:b')), handle(batchOf('id:c')));
  await until(() => tracked === 6);
  assert.equal(rounds.length, 1, 'the later batches wait for the round in flight');
  firstRound.resolve();
  await Promise.all(done);
  assert.deepEqual(rounds, [[10 * HOUR_MS], [10 * HOUR_MS, 11 * HOUR_MS, 12 * HOUR_MS]]);
});

for (const [type, says] of [
  ['UNKNOWN_TOPIC_OR_PARTITION', /dead-letter topic dlq: it does not exist \(deleted\?\); npm run migrate/],
  ['MESSAGE_TOO_LARGE', /dead-letter topic dlq: a dead letter is larger than its max\.message\.bytes \(ingest creates it with 589824\)/],
  ['INVALID_RECORD', /dead-letter topic dlq: .*cleanup\.policy=compact refuses a record without a key/],
] as const)
  test(`when the dead-letter topic keeps refusing with ${type}, then the error ingest exits with names the topic and what to fix`, async () => {
    const h = harness(['bad'], stored);
    h.deps.deadLetters = {
      ...h.deps.deadLetters,
      send: () => Promise.reject(Object.assign(new Error('refused by the broker'), { name: 'KafkaJSProtocolError', type })),
    };
    const failure = await createBatchHandler(h.deps)(h.batch).then(
      () => assert.fail('the batch must not resolve'),
      (err: unknown) => err,
    );
    assert.ok(failure instanceof RetriesExhaustedError);
    assert.match(failure.message, /^dead-letter topic dlq \(batch at offset 100\) failed after 4 attempts/);
    assert.match(String((failure.cause as Error).message), says);
  });
