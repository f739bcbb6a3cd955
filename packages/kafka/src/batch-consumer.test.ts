import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { startBatchConsumer } from './batch-consumer.ts';
import type { BatchConsumerOptions, ConsumedBatch } from './batch-consumer.ts';
import { KafkaGroupRefusedError, KafkaTopicMissingError } from './kafka-errors.ts';

const events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash' };

/** A stand-in for one kafkajs consumer: the test hands batches to eachBatch and emits its events. */
class FakeMember extends EventEmitter {
  readonly events = events;
  readonly commits: string[] = [];
  /** Offsets given to kafkajs' resolveOffset, in order. */
  readonly resolved: string[] = [];
  heartbeatError: Error | undefined;
  eachBatch!: (payload: EachBatchPayload) => Promise<void>;
  disconnected = false;
  connect = (): Promise<void> => Promise.resolve();
  subscribe = (): Promise<void> => Promise.resolve();
  run = (options: { eachBatch: (payload: EachBatchPayload) => Promise<void> }): Promise<void> => {
    this.eachBatch = options.eachBatch;
    this.join([0, 1]);
    return Promise.resolve();
  };
  commitOffsets = (offsets: { partition: number; offset: string }[]): Promise<void> => {
    for (const o of offsets) this.commits.push(`${o.partition}@${o.offset}`);
    return Promise.resolve();
  };
  pause = (): void => undefined;
  disconnect = (): Promise<void> => {
    this.disconnected = true;
    return Promise.resolve();
  };
  join(partitions: number[]): void {
    this.emit(events.GROUP_JOIN, { payload: { memberAssignment: { t: partitions } } });
  }
  /** Hands one batch of `count` messages from `first` on `partition` to the consumer. */
  deliver(partition: number, first: number, count: number): Promise<void> {
    const messages = Array.from({ length: count }, (_, i) => ({
      offset: String(first + i),
      key: null,
      value: Buffer.from('x'),
      timestamp: '0',
    }));
    const payload = {
      batch: {
        topic: 't',
        partition,
        highWatermark: String(first + count + 10),
        messages,
        isEmpty: () => count === 0,
        lastOffset: () => String(first + count - 1),
      },
      resolveOffset: (offset: string) => this.resolved.push(offset),
      heartbeat: () => (this.heartbeatError ? Promise.reject(this.heartbeatError) : Promise.resolve()),
      isRunning: () => !this.disconnected,
    } as unknown as EachBatchPayload;
    return this.eachBatch(payload);
  }
}

/** The kafkajs retry options a member was created with: whether kafkajs may restart it at once after a crash. */
type MemberRetry = { restartOnFailure: (err: Error) => Promise<boolean> };

function fakeClient(): { client: Parameters<typeof startBatchConsumer>[0]; members: FakeMember[]; retries: MemberRetry[] } {
  const members: FakeMember[] = [];
  const retries: MemberRetry[] = [];
  const kafka = {
    consumer: (options: { retry: MemberRetry }) => {
      const member = new FakeMember();
      members.push(member);
      retries.push(options.retry);
      return member as unknown as Consumer;
    },
  } as unknown as Kafka;
  return { client: { kafka }, members, retries };
}

/** A handler whose batches finish when the test says so. */
function controlledHandler(): {
  handleBatch: BatchConsumerOptions['handleBatch'];
  finish: (index: number, err?: Error) => void;
  seen: ConsumedBatch[];
} {
  const seen: ConsumedBatch[] = [];
  const finishers: ((err?: Error) => void)[] = [];
  return {
    seen,
    handleBatch: (batch) => {
      seen.push(batch);
      return new Promise<void>((resolve, reject) => finishers.push((err) => (err ? reject(err) : resolve())));
    },
    finish: (index, err) => finishers[index]?.(err),
  };
}

const settle = (): Promise<void> => sleep(5);
const noFatal = (err: unknown): void => assert.fail(`unexpected fatal error: ${String(err)}`);

test('when a later batch of a partition is durable first, then nothing is committed until the earlier one is, and commits go in offset order', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  await startBatchConsumer(client, { groupId: 'g', topic: 't', maxBatchesInFlight: 4, handleBatch: h.handleBatch, onFatal: noFatal });
  const member = members[0] as FakeMember;
  await member.deliver(0, 0, 10);
  await member.deliver(0, 10, 5);
  await member.deliver(1, 0, 3);
  h.finish(1);
  h.finish(2);
  await settle();
  assert.deepEqual(member.commits, ['1@3'], 'partition 1 commits on its own; partition 0 waits for its first batch');
  h.finish(0);
  await settle();
  assert.deepEqual(member.commits, ['1@3', '0@10', '0@15']);
});

test('when a batch fails for good, then onFatal is called and neither it nor a later batch of its partition is committed', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  const fatal: unknown[] = [];
  await startBatchConsumer(client, {
    groupId: 'g',
    topic: 't',
    maxBatchesInFlight: 4,
    handleBatch: h.handleBatch,
    onFatal: (e) => fatal.push(e),
  });
  const member = members[0] as FakeMember;
  await member.deliver(0, 0, 10);
  await member.deliver(0, 10, 5);
  h.finish(1);
  h.finish(0, new Error('retries exhausted'));
  await settle();
  assert.equal(fatal.length, 1);
  assert.deepEqual(member.commits, []);
  assert.equal(h.seen[1]?.isRunning(), false, 'the later batch learns it is abandoned');
});

test('when the group rebalances while batches are in flight, then they are abandoned uncommitted and the new membership commits its own', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  const assignments: number[][] = [];
  const consumer = await startBatchConsumer(client, {
    groupId: 'g',
    topic: 't',
    maxBatchesInFlight: 4,
    handleBatch: h.handleBatch,
    onFatal: noFatal,
    onAssignment: (p) => assignments.push([...p]),
  });
  const member = members[0] as FakeMember;
  await member.deliver(0, 0, 10);
  member.emit(events.REBALANCING, {});
  assert.equal(h.seen[0]?.isRunning(), false);
  member.join([0]);
  assert.deepEqual(consumer.assignedPartitions(), [0]);
  assert.deepEqual(assignments, [[0, 1], [0]]);
  await member.deliver(0, 0, 10);
  h.finish(0);
  h.finish(1);
  await settle();
  assert.deepEqual(member.commits, ['0@10'], 'only the batch of the current membership is committed');
});

test('when a heartbeat says the group is rebalancing, then the batch is abandoned and the heartbeat does not throw', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  await startBatchConsumer(client, { groupId: 'g', topic: 't', maxBatchesInFlight: 4, handleBatch: h.handleBatch, onFatal: noFatal });
  const member = members[0] as FakeMember;
  await member.deliver(0, 0, 10);
  member.heartbeatError = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });
  await h.seen[0]?.heartbeat();
  assert.equal(h.seen[0]?.isRunning(), false);
  h.finish(0);
  await settle();
  assert.deepEqual(member.commits, []);
});

test('when kafkajs gives up on a transient cause, then a fresh member joins; on a permanent cause, onFatal is called', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  const fatal: unknown[] = [];
  await startBatchConsumer(client, { groupId: 'g', topic: 't', handleBatch: h.handleBatch, onFatal: (e) => fatal.push(e) });
  const rebalanceError = Object.assign(new Error('rejoin failed'), { type: 'REBALANCE_IN_PROGRESS' });
  (members[0] as FakeMember).emit(events.CRASH, { payload: { error: rebalanceError, restart: false } });
  // The fresh member comes after a pause of about a second.
  for (let i = 0; i < 100 && members.length < 2; i++) await sleep(50);
  assert.equal(members.length, 2);
  assert.equal((members[0] as FakeMember).disconnected, true);
  assert.deepEqual(fatal, []);
  const denied = Object.assign(new Error('denied'), { type: 'GROUP_AUTHORIZATION_FAILED' });
  (members[1] as FakeMember).emit(events.CRASH, { payload: { error: denied, restart: false } });
  assert.deepEqual(fatal, [denied]);
});

test('when the member crashes again before it rejoined (the topic deleted), then kafkajs may not restart it at once, and the consumer says why it consumes nothing', async () => {
  const { client, members, retries } = fakeClient();
  const consumer = await startBatchConsumer(client, {
    groupId: 'g',
    topic: 't',
    handleBatch: controlledHandler().handleBatch,
    onFatal: noFatal,
  });
  const member = members[0] as FakeMember;
  const restartOnFailure = (retries[0] as MemberRetry).restartOnFailure;
  const gone = Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  assert.equal(consumer.problem(), undefined, 'a member of its group has no problem');
  assert.equal(await restartOnFailure(gone), true, 'the first crash of a membership: kafkajs restarts it at once');
  member.emit(events.CRASH, { payload: { error: gone, restart: true } });
  assert.equal(consumer.problem(), 'topic t does not exist (deleted?): nothing is consumed until it exists again');
  // kafkajs would restart every 300 ms for ever: the second crash before a rejoin waits instead.
  assert.equal(await restartOnFailure(gone), false);
  member.emit(events.CRASH, { payload: { error: gone, restart: false } });
  for (let i = 0; i < 100 && members.length < 2; i++) await sleep(50);
  assert.equal(members.length, 2, 'a fresh member after a pause');
  (members[1] as FakeMember).join([0]);
  assert.equal(consumer.problem(), undefined, 'a member again');
  assert.equal(await restartOnFailure(gone), true, 'a new membership gets its quick restart again');
});

test('when the topic does not exist at start, then starting fails with an error that names it', async () => {
  const { client, members } = fakeClient();
  const gone = Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  const kafka = client.kafka as unknown as { consumer: (options: unknown) => FakeMember };
  const make = kafka.consumer;
  kafka.consumer = (options) => {
    const member = make(options);
    member.subscribe = () => Promise.reject(gone);
    return member;
  };
  const failure = await startBatchConsumer(client, {
    groupId: 'g',
    topic: 'clicks',
    handleBatch: controlledHandler().handleBatch,
    onFatal: noFatal,
  }).then(
    () => assert.fail('must not start'),
    (err: unknown) => err,
  );
  assert.ok(failure instanceof KafkaTopicMissingError);
  assert.equal(failure.message, 'topic clicks does not exist: create it first');
  assert.equal(failure.cause, gone);
  assert.equal(members.length, 1);
});

test('when the group is refused, then onFatal gets a KafkaGroupRefusedError instead of rejoining for ever', async () => {
  const { client, members } = fakeClient();
  const broker: { refusal?: string } = {};
  const refusing = { ...client, lastRefusal: (type: string) => (type === 'GROUP_AUTHORIZATION_FAILED' ? broker.refusal : undefined) };
  const fatal: unknown[] = [];
  await startBatchConsumer(refusing, {
    groupId: 'g',
    topic: 't',
    handleBatch: controlledHandler().handleBatch,
    onFatal: (e) => fatal.push(e),
  });
  // What kafkajs throws when the broker refused its FindCoordinator request: the refusal is gone from the error.
  const notFound = Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' });
  (members[0] as FakeMember).emit(events.CRASH, { payload: { error: notFound, restart: true } });
  assert.equal(fatal.length, 0, 'without a refusal seen, a coordinator not found is transient');
  broker.refusal = 'Not authorized to access group: Group authorization failed';
  (members[0] as FakeMember).emit(events.CRASH, { payload: { error: notFound, restart: true } });
  assert.equal(fatal.length, 1);
  assert.ok(fatal[0] instanceof KafkaGroupRefusedError);
  assert.equal(
    fatal[0].message,
    "Kafka refused the consumer group 'g': Not authorized to access group: Group authorization failed (grant the user READ on the group)",
  );
  assert.equal(fatal[0].cause, notFound);
});

test('when more batches than allowed are in flight, then eachBatch waits for room before returning', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  await startBatchConsumer(client, { groupId: 'g', topic: 't', maxBatchesInFlight: 1, handleBatch: h.handleBatch, onFatal: noFatal });
  const member = members[0] as FakeMember;
  let returned = false;
  const delivered = member.deliver(0, 0, 10).then(() => (returned = true));
  await settle();
  assert.equal(returned, false);
  h.finish(0);
  await delivered;
  assert.deepEqual(member.commits, ['0@10']);
});

test('when a fetched batch holds more messages than maxMessagesPerBatch, then it is handed over in parts of at most that many, each a batch in flight, committed in order', async () => {
  const { client, members } = fakeClient();
  const h = controlledHandler();
  await startBatchConsumer(client, {
    groupId: 'g',
    topic: 't',
    maxBatchesInFlight: 2,
    maxMessagesPerBatch: 4,
    handleBatch: h.handleBatch,
    onFatal: noFatal,
  });
  const member = members[0] as FakeMember;
  let returned = false;
  const delivered = member.deliver(0, 100, 10).then(() => (returned = true));
  await settle();
  const offsets = () => h.seen.map((batch) => batch.messages.map((m) => Number(m.offset)));
  assert.deepEqual(offsets(), [
    [100, 101, 102, 103],
    [104, 105, 106, 107],
  ]);
  assert.equal(returned, false, 'the third part waits for room');
  h.finish(1);
  await settle();
  assert.deepEqual(member.commits, [], 'the second part waits for the first');
  h.finish(0);
  await settle();
  assert.deepEqual(member.commits, ['0@104', '0@108']);
  assert.deepEqual(offsets().at(-1), [108, 109]);
  h.finish(2);
  await delivered;
  await settle();
  assert.deepEqual(member.commits, ['0@104', '0@108', '0@110']);
  assert.deepEqual(member.resolved, ['103', '107', '109']);
  assert.deepEqual(
    h.seen.map((batch) => batch.lagAfter),
    [16, 12, 10],
    'the lag after each part',
  );
});
