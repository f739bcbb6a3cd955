import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { createLogger } from '@clickstream/observability';
import type { Logger } from '@clickstream/observability';
import type { KafkaClient } from './kafka-client.ts';
import {
  KafkaGroupRefusedError,
  KafkaTopicMissingError,
  isMembershipError,
  isPermanentKafkaError,
  isUnknownTopicError,
} from './kafka-errors.ts';

/** One message as the consumer hands it over: raw bytes and where it came from. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** Messages left in the partition after this batch (high watermark - last offset - 1). */
  lagAfter: number;
  /**
   * Keeps the group membership alive during long work; call between slow steps and retries.
   * Never throws: a lost membership (rebalance) makes `isRunning()` false instead.
   */
  heartbeat(): Promise<void>;
  /** False once the batch is abandoned (rebalance, consumer restart, fatal error): stop, it will not be committed. */
  isRunning(): boolean;
}

export interface BatchConsumer {
  /**
   * Stops fetching, lets the batches in flight finish and commit (or be abandoned uncommitted),
   * then leaves the group. Resolves once disconnected.
   */
  stop(): Promise<void>;
  /** Partitions of the topic assigned to this member by the last rebalance. */
  assignedPartitions(): readonly number[];
  /**
   * Why this member is out of its group and consumes nothing (it crashed and has not rejoined
   * yet: a missing topic, a lost coordinator), for readiness; undefined while it is a member.
   */
  problem(): string | undefined;
}

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** Most bytes one fetch takes over all partitions (kafkajs maxBytes; its own default is 10 MiB). */
  maxBytes?: number;
  /**
   * How often the topic's metadata is read again (30 s): partitions added to the topic are consumed
   * after at most this long plus a rebalance.
   */
  metadataMaxAgeMs?: number;
  /** Partitions whose batches are handed over at the same time (kafkajs partitionsConsumedConcurrently). */
  partitionsConcurrently?: number;
  /**
   * Batches handed to `handleBatch` whose promise has not settled yet, over all partitions. While
   * a batch is written the next ones are fetched and processed; at this bound fetching waits.
   */
  maxBatchesInFlight?: number;
  /**
   * Most messages in one batch handed to `handleBatch` (default: a fetched batch whole). Fetch
   * limits count compressed bytes: a fetch of gzip, snappy, lz4 or zstd batches holds many times
   * the messages its size suggests, so a bigger one is handed over in parts of this many, each a
   * batch in flight, committed in order like any other.
   */
  maxMessagesPerBatch?: number;
  /**
   * Handles one batch; resolves once it is durable, rejects when it cannot be (retries exhausted,
   * unknown error). The consumer does not wait for it before fetching the partition's next batch
   * (see `maxBatchesInFlight`), but commits each batch's offsets only after it and every earlier
   * batch of its partition resolved, in order.
   */
  handleBatch: (batch: ConsumedBatch) => Promise<void>;
  /** The service cannot continue (a batch failed for good, or a permanent Kafka error): exit without committing. */
  onFatal: (err: unknown) => void;
  /** Every consumer crash, also the ones the consumer recovers from by rejoining. */
  onCrash?: (err: unknown, recovering: boolean) => void;
  /** The partitions this member owns after each rebalance. */
  onAssignment?: (partitions: readonly number[]) => void;
  /** After each commit: the partition and the next offset to read. */
  onCommit?: (partition: number, nextOffset: string) => void;
  /** Where rejoins, abandoned batches and failed commits are logged; silent when unset. */
  logger?: Logger;
}

interface PartitionChain {
  generation: number;
  /** Settles with true once the last batch handed over is durable, false when it was abandoned or failed. */
  tail: Promise<boolean>;
}

const RESTART_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * Runs a consumer group member that hands whole batches to `handleBatch` and commits each batch
 * only after it is durable (at-least-once), in offset order per partition.
 *
 * Nothing transient is fatal: a rebalance, a revoked partition, a lost coordinator or broker makes
 * the in-flight batches of the old membership abandoned (never committed, read again by whoever
 * owns the partition next) and the member rejoins: kafkajs restarts itself for retriable crashes,
 * and this function starts a fresh consumer for the others. Only a batch that fails for good or a
 * permanent Kafka error (authorization, unsupported feature) calls `onFatal`.
 */
export async function startBatchConsumer(client: KafkaClient, options: BatchConsumerOptions): Promise<BatchConsumer> {
  const log = (options.logger ?? createLogger({ service: 'kafka', level: 'silent' })).child({
    component: 'batch-consumer',
    groupId: options.groupId,
  });
  const maxInFlight = options.maxBatchesInFlight ?? 1;
  /** Bumped on every join, rebalance and crash: batches of an older generation are abandoned. */
  let generation = 0;
  let stopping = false;
  let fatal = false;
  let restarts = 0;
  /**
   * kafkajs restarts a crashed consumer after 300 ms whenever the cause did not pass through one of
   * its retriers, and again after every crash: a cause that lasts (the topic deleted) made that a
   * restart loop of several log lines every 300 ms. It gets one quick restart per membership; a
   * second crash before the member rejoined goes through the growing pauses of RESTART_DELAYS_MS.
   */
  let quickRestartUsed = false;
  let problem: string | undefined;
  let assigned: number[] = [];
  let inFlight = 0;
  const settled = new Set<() => void>();
  const chains = new Map<number, PartitionChain>();
  let consumer: Consumer;

  const fail = (err: unknown): void => {
    if (fatal) return;
    fatal = true;
    generation++;
    options.onFatal(err);
  };

  /**
   * kafkajs reports a group this client may not use as "Failed to find group coordinator", a cause
   * it retries for ever: the broker's refusal, seen in the answer it swallowed, makes it permanent.
   */
  const groupRefusal = (err: unknown): KafkaGroupRefusedError | undefined => {
    if (!(err instanceof Error) || err.name !== 'KafkaJSGroupCoordinatorNotFound') return undefined;
    const refusal = client.lastRefusal?.('GROUP_AUTHORIZATION_FAILED');
    if (refusal === undefined) return undefined;
    return new KafkaGroupRefusedError(
      `Kafka refused the consumer group '${options.groupId}': ${refusal} (grant the user READ on the group)`,
      {
        cause: err,
      },
    );
  };

  const nextGeneration = (why: string): void => {
    generation++;
    log.debug({ generation, why }, 'batches in flight from the previous membership are abandoned');
  };

  const createMember = (): Consumer => {
    const member = client.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      maxBytes: options.maxBytes ?? 10_485_760,
      allowAutoTopicCreation: false,
      // kafkajs sees partitions added to the topic only when it refreshes its metadata (5 min by
      // default); meanwhile their clicks wait unread and out of the lag metric of every member.
      metadataMaxAge: options.metadataMaxAgeMs ?? 30_000,
      // A crash with a retriable cause restarts the consumer (rejoin, read again from the committed offsets).
      retry: {
        retries: 5,
        restartOnFailure: () => {
          const quick = !stopping && !fatal && !quickRestartUsed;
          if (quick) quickRestartUsed = true;
          return Promise.resolve(quick);
        },
      },
    });
    member.on(member.events.GROUP_JOIN, (event) => {
      nextGeneration('joined');
      restarts = 0;
      quickRestartUsed = false;
      problem = undefined;
      assigned = [...(event.payload.memberAssignment[options.topic] ?? [])].sort((a, b) => a - b);
      options.onAssignment?.(assigned);
    });
    member.on(member.events.REBALANCING, () => nextGeneration('rebalancing'));
    member.on(member.events.CRASH, (event) => {
      const err = event.payload.error;
      nextGeneration('crashed');
      if (stopping || fatal) return;
      const refused = groupRefusal(err);
      const permanent = refused !== undefined || isPermanentKafkaError(err);
      options.onCrash?.(err, !permanent);
      problem = problemOf(err);
      if (permanent) {
        fail(refused ?? err);
      } else if (!event.payload.restart) {
        // kafkajs gives up on causes it does not call retriable (a rebalance error while rejoining,
        // for one), or this is a second crash before a rejoin: start a fresh member after a growing pause.
        rejoinLater(err, 'consumer stopped on a transient error; rejoining with a new member');
      } else {
        // Said in the operator's terms whichever way the member comes back: a deleted topic is named.
        const why = isUnknownTopicError(err) ? problemOf(err) : 'consumer crashed on a transient error';
        log.warn({ err }, `${why}; kafkajs restarts it`);
      }
    });
    return member;
  };

  const run = async (member: Consumer): Promise<void> => {
    await member.connect();
    await member.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning ?? true });
    await member.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      eachBatch: (payload) => eachBatch(member, payload),
    });
  };

  /** What readiness says while the member is out of the group after `err`. */
  const problemOf = (err: unknown): string =>
    isUnknownTopicError(err)
      ? `topic ${options.topic} does not exist (deleted?): nothing is consumed until it exists again`
      : `Kafka consumer out of its group, rejoining: ${err instanceof Error ? err.message : String(err)}`;

  /** Starts a fresh member after the next of the growing pauses, and says why. */
  const rejoinLater = (err: unknown, message: string): void => {
    const delayMs = RESTART_DELAYS_MS[Math.min(restarts++, RESTART_DELAYS_MS.length - 1)] ?? 30_000;
    if (isUnknownTopicError(err)) log.warn({ err, delayMs, topic: options.topic }, `${problemOf(err)}; trying again in ${delayMs} ms`);
    else log.warn({ err, delayMs }, message);
    setTimeout(() => void restartMember(), delayMs).unref();
  };

  const restartMember = async (): Promise<void> => {
    if (stopping || fatal) return;
    await consumer.disconnect().catch(() => undefined);
    consumer = createMember();
    try {
      await run(consumer);
    } catch (err) {
      // Connecting failed (brokers unreachable): try again later, unless it can never work.
      const refused = groupRefusal(err);
      if (refused !== undefined || isPermanentKafkaError(err)) return fail(refused ?? err);
      problem = problemOf(err);
      rejoinLater(err, 'rejoining failed; trying again');
    }
  };

  const waitForRoom = async (payload: EachBatchPayload, heartbeat: () => Promise<void>, batchGeneration: number): Promise<void> => {
    // kafkajs' own stop (on a crash, too) waits for eachBatch: leave as soon as it is stopping.
    while (inFlight >= maxInFlight && !stopping && !fatal && batchGeneration === generation && payload.isRunning()) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          settled.delete(done);
          resolve();
        };
        const timer = setTimeout(done, 1_000);
        settled.add(done);
      });
      await heartbeat();
    }
  };

  /**
   * Hands `messages` (a fetched batch, or a part of one) to `handleBatch` as one batch in flight,
   * and chains its commit (of `last` + 1) after the partition's earlier batches.
   */
  const handOver = (
    member: Consumer,
    batch: EachBatchPayload['batch'],
    messages: EachBatchPayload['batch']['messages'],
    last: string,
    membership: { generation: number; running: () => boolean; heartbeat: () => Promise<void> },
  ): void => {
    let chain = chains.get(batch.partition);
    if (chain?.generation !== membership.generation) {
      chain = { generation: membership.generation, tail: Promise.resolve(true) };
      chains.set(batch.partition, chain);
    }
    const consumed: ConsumedBatch = {
      topic: batch.topic,
      partition: batch.partition,
      messages: messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        timestampMs: Number(m.timestamp),
      })),
      lagAfter: Math.max(0, Number(batch.highWatermark) - Number(last) - 1),
      heartbeat: membership.heartbeat,
      isRunning: membership.running,
    };

    inFlight++;
    let work: Promise<void>;
    try {
      // The handler's synchronous part (decoding, enrichment) runs now; its writes overlap the next fetch.
      work = options.handleBatch(consumed);
    } catch (err) {
      work = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const previous = chain.tail;
    chain.tail = (async (): Promise<boolean> => {
      try {
        try {
          await work;
        } catch (err) {
          if (membership.running()) fail(err);
          else log.debug({ err, partition: batch.partition }, 'abandoned batch failed');
          return false;
        }
        // Never commit past an earlier batch of the partition that is not durable.
        if (!(await previous) || !membership.running()) return false;
        const nextOffset = (BigInt(last) + 1n).toString();
        try {
          await member.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: nextOffset }]);
          options.onCommit?.(batch.partition, nextOffset);
        } catch (err) {
          // The batch is durable; a later commit covers it, or it is read again (idempotent writes).
          if (isMembershipError(err)) nextGeneration('commit refused: membership lost');
          log.warn({ err, partition: batch.partition, offset: nextOffset }, 'offset commit failed; the batch stays uncommitted');
        }
        return true;
      } finally {
        inFlight--;
        for (const wake of [...settled]) wake();
      }
    })();
  };

  const eachBatch = async (member: Consumer, payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    if (batch.isEmpty() || stopping || fatal || member !== consumer) return;
    const batchGeneration = generation;
    const running = (): boolean => !fatal && batchGeneration === generation && member === consumer;
    const heartbeat = async (): Promise<void> => {
      if (!running()) return;
      try {
        await payload.heartbeat();
      } catch (err) {
        // kafkajs sees the same error on its own next heartbeat and rejoins; this batch is lost to the old membership.
        if (isMembershipError(err)) nextGeneration('membership lost during a batch');
        else log.debug({ err }, 'heartbeat failed');
      }
    };
    const maxMessages = options.maxMessagesPerBatch ?? Number.POSITIVE_INFINITY;
    const { messages } = batch;
    for (let start = 0; start < messages.length; start += maxMessages) {
      // A fetch of compressed batches can hold many times the messages its bytes suggest: it is
      // handed over in parts, each a batch in flight, so that memory follows messages, not bytes.
      if (start > 0) {
        await waitForRoom(payload, heartbeat, batchGeneration);
        if (!running() || stopping || !payload.isRunning()) return;
      }
      const part = messages.slice(start, start + maxMessages);
      const end = start + part.length;
      const last = end >= messages.length ? batch.lastOffset() : (part.at(-1)?.offset ?? batch.lastOffset());
      handOver(member, batch, part, last, { generation: batchGeneration, running, heartbeat });
      // Lets kafkajs fetch the partition's next batch while this one is written; on a rejoin kafkajs
      // forgets resolved offsets and reads again from the committed ones.
      payload.resolveOffset(last);
    }
    await waitForRoom(payload, heartbeat, batchGeneration);
  };

  consumer = createMember();
  try {
    await run(consumer);
  } catch (err) {
    // kafkajs says only "This server does not host this topic-partition", naming no topic.
    if (isUnknownTopicError(err))
      throw new KafkaTopicMissingError(`topic ${options.topic} does not exist: create it first`, { cause: err });
    throw err;
  }

  return {
    assignedPartitions: () => assigned,
    problem: () => problem,
    async stop() {
      if (stopping) return;
      stopping = true;
      try {
        consumer.pause([{ topic: options.topic }]);
      } catch {
        // Not running (between restarts): nothing to pause.
      }
      // Let the batches in flight finish and commit; the caller bounds the whole stop with its own deadline.
      while (inFlight > 0 && !fatal) await sleep(50);
      await Promise.all([...chains.values()].map((c) => c.tail));
      await consumer.disconnect();
    },
  };
}
