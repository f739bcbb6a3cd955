import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClickGenerator } from '@clickstream/clickgen';
import type { OutgoingMessage } from '@clickstream/kafka';
import { KafkaSendError } from './producer-errors.ts';
import { sendClicks } from './send-clicks.ts';

const generate = (count: number, more: { invalidRatio?: number; duplicateRatio?: number } = {}) =>
  createClickGenerator({ seed: 42, count, startMs: Date.UTC(2025, 0, 1), spanMs: 3_600_000, ...more });
const always = (): Promise<boolean> => Promise.resolve(true);

// The Kafka side is a recorder here: what is under test is the batching and stopping, which is ours.
describe('sendClicks', () => {
  const cases: { count: number; batchSize: number; batches: number[] }[] = [
    { count: 1_200, batchSize: 500, batches: [500, 500, 200] },
    { count: 1_000, batchSize: 500, batches: [500, 500] },
    { count: 3, batchSize: 1, batches: [1, 1, 1] },
    { count: 7, batchSize: 200, batches: [7] },
  ];
  for (const { count, batchSize, batches } of cases) {
    test(`when ${count} messages go in batches of ${batchSize}, then the batches hold ${batches.join(', ')}`, async () => {
      const sent: (readonly OutgoingMessage[])[] = [];
      const result = await sendClicks({
        messages: generate(count),
        topic: 't',
        batchSize,
        pace: always,
        send: (m) => Promise.resolve(void sent.push(m)),
      });
      assert.deepEqual(
        sent.map((b) => b.length),
        batches,
      );
      assert.deepEqual(result, { counts: { sent: count, valid: count, duplicate: 0, invalid: 0 }, stopped: false });
    });
  }

  test('when some messages are invalid or duplicates, then each is sent as generated (key and value) and counted by kind', async () => {
    const sent: OutgoingMessage[] = [];
    const options = { invalidRatio: 0.1, duplicateRatio: 0.05 };
    const { counts } = await sendClicks({
      messages: generate(2_000, options),
      topic: 't',
      batchSize: 300,
      pace: always,
      send: (m) => Promise.resolve(void sent.push(...m)),
    });
    const expected = [...generate(2_000, options)];
    assert.deepEqual(
      sent,
      expected.map((m) => ({ key: m.key, value: m.value })),
    );
    assert.deepEqual(counts, { sent: 2_000, valid: 1_700, duplicate: 100, invalid: 200 });
    assert.ok(
      sent.some((m) => m.key === null),
      'a non-JSON value goes without a key',
    );
  });

  test('when the run is aborted during a send, then that batch completes and is counted, and no other batch is sent', async () => {
    const controller = new AbortController();
    const sizes: number[] = [];
    const result = await sendClicks({
      messages: generate(2_000),
      topic: 't',
      batchSize: 500,
      pace: always,
      signal: controller.signal,
      send: async (m) => {
        if (sizes.length === 1) controller.abort('SIGINT');
        await new Promise((resolve) => setTimeout(resolve, 10));
        sizes.push(m.length);
      },
    });
    assert.deepEqual(sizes, [500, 500]);
    assert.deepEqual(result, { counts: { sent: 1_000, valid: 1_000, duplicate: 0, invalid: 0 }, stopped: true });
  });

  test('when pacing is interrupted, then nothing more is sent', async () => {
    let paced = 0;
    const sizes: number[] = [];
    const result = await sendClicks({
      messages: generate(1_000),
      topic: 't',
      batchSize: 100,
      pace: () => Promise.resolve(++paced <= 3),
      send: (m) => Promise.resolve(void sizes.push(m.length)),
    });
    assert.deepEqual(sizes, [100, 100, 100]);
    assert.equal(result.stopped, true);
    assert.equal(result.counts.sent, 300);
  });

  test('when a send fails, then a KafkaSendError carries the counts acknowledged before it and the cause', async () => {
    const cause = new Error('broker went away');
    let calls = 0;
    const run = sendClicks({
      messages: generate(1_000),
      topic: 'clicks',
      batchSize: 250,
      pace: always,
      send: () => (++calls === 3 ? Promise.reject(cause) : Promise.resolve()),
    });
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof KafkaSendError);
      assert.equal(err.code, 'kafka_send_failed');
      assert.equal(err.cause, cause);
      assert.deepEqual(err.counts, { sent: 500, valid: 500, duplicate: 0, invalid: 0 });
      assert.match(err.message, /^sending to topic clicks failed after 500 acknowledged messages: broker went away$/);
      return true;
    });
  });
});
