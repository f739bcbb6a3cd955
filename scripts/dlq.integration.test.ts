/**
 * `npm run dlq` on a real dead-letter topic: every record printed, and the counts per reason
 * taken over distinct source messages (ingest sends a dead letter again when it processes its
 * batch again after a crash or a rebalance).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createMessageProducer, deleteTopics, ensureTopics } from '@clickstream/kafka';
import { stackEnv, testKafka, uniqueSuffix } from '../test/support/stack-clients.ts';

const topic = `dlq-script-${uniqueSuffix()}`;

/** A dead letter of `clickstream` partition 0 at `offset`, as ingest writes it. */
const deadLetter = (offset: number, reason: string): string =>
  JSON.stringify({
    value: `bad ${offset}`,
    encoding: 'utf8',
    source_topic: 'clickstream',
    source_partition: 0,
    source_offset: String(offset),
    reason,
    message: 'test',
    failed_at: '2026-11-26T00:00:00.000Z',
  });

function runDlq(...args: string[]): Promise<{ code: number | null; stdout: string[]; stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'scripts/dlq.ts', ...args], {
    env: { ...process.env, KAFKA_BROKERS: stackEnv.KAFKA_BROKERS, KAFKA_DLQ_TOPIC: topic },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) =>
    // One line per record printed (an empty record prints an empty line).
    child.once('close', (code) => resolve({ code, stdout: stdout.split('\n').slice(0, -1), stderr })),
  );
}

before(async () => {
  const kafka = testKafka();
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const producer = await createMessageProducer(kafka);
  try {
    await producer.send(topic, [
      { key: 'a', value: deadLetter(1, 'invalid_json') },
      { key: 'b', value: deadLetter(2, 'missing_field') },
      // Offset 1 again: its batch was processed a second time.
      { key: 'a', value: deadLetter(1, 'invalid_json') },
      { key: null, value: 'not a dead letter' },
      // Not UTF-8, empty, and JSON that is not an object: printed, counted as unknown, never merged.
      { key: null, value: Buffer.from([0xff, 0xfe, 0x00, 0x9f]) },
      { key: null, value: '' },
      { key: null, value: '[1]' },
    ]);
  } finally {
    await producer.disconnect();
  }
});

after(async () => {
  await deleteTopics(testKafka(), [topic]);
});

test('when a dead letter was sent twice, then every record is printed and the counts are of distinct source messages', async () => {
  const { code, stdout, stderr } = await runDlq();
  assert.equal(code, 0, stderr);
  assert.equal(stdout.length, 7, 'every record of the topic, repeats included');
  assert.match(stderr, /7 dead letter\(s\) in \S+, 6 distinct: invalid_json 1, missing_field 1, unknown 4; 1 repeated/);
});

test('when --distinct is given, then a repeated dead letter is printed once', async () => {
  const { code, stdout, stderr } = await runDlq('--distinct');
  assert.equal(code, 0, stderr);
  assert.deepEqual(
    stdout.map((line) => (line.startsWith('{') ? (JSON.parse(line) as { source_offset: string }).source_offset : line)),
    ['1', '2', 'not a dead letter', '\uFFFD\uFFFD\u0000\uFFFD', '', '[1]'],
  );
  assert.match(stderr, /6 distinct: invalid_json 1, missing_field 1, unknown 4; 1 repeated \(not printed\)/);
});

test('when an argument is wrong, then it exits 2 with the reason and the usage, without a stack trace or a read', async () => {
  const wrong = [
    ['--max', '-1'],
    ['--bogus'],
    ['positional'],
    ['--max', '1.5'],
    ['--max', '0'],
    ['--idle-ms', '99999999999'],
    ['--idle-ms', '1e400'],
  ];
  for (const args of wrong) {
    const { code, stdout, stderr } = await runDlq(...args);
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.deepEqual(stdout, [], args.join(' '));
    assert.match(stderr, /usage: npm run dlq/, args.join(' '));
    assert.doesNotMatch(stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
  }
});
