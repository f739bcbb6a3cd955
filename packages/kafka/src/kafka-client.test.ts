import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { createKafkaClient } from './kafka-client.ts';

await test('createKafkaClient', async (t) => {
  await t.test('when kafkajs logs a consumer crash it restarts from, then the lines are warnings; its other errors stay errors', () => {
    const { lines, logger } = capturedLogger();
    const { kafka } = createKafkaClient({ clientId: 'test', brokers: ['localhost:1'] }, logger);
    // kafkajs's root logger: the one its consumer logs its crashes with.
    const kafkajsLogger = kafka.logger();
    kafkajsLogger.error("Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests", { groupId: 'g' });
    kafkajsLogger.error('Restarting the consumer in 300ms', { groupId: 'g', retryTime: 300 });
    kafkajsLogger.error('Connection error: connect ECONNREFUSED', { broker: 'localhost:1' });
    kafkajsLogger.warn('Crash-like text in a warning');
    assert.deepEqual(
      lines.map((line) => [line.level, line.component, String(line.msg).split(':')[0]]),
      [
        ['warn', 'kafkajs', 'Crash'],
        ['warn', 'kafkajs', 'Restarting the consumer in 300ms'],
        ['error', 'kafkajs', 'Connection error'],
        ['warn', 'kafkajs', 'Crash-like text in a warning'],
      ],
    );
    assert.equal(lines[0]?.groupId, 'g', 'the fields kafkajs gave are kept');
  });

  await t.test(
    'when a broker answers with an error kafkajs retries, then the line is a warning; one it does not retry stays an error',
    () => {
      const { lines, logger } = capturedLogger();
      const { kafka } = createKafkaClient({ clientId: 'test', brokers: ['localhost:1'] }, logger);
      const kafkajsLogger = kafka.logger();
      // As kafkajs's connection logs an error response: on a fresh broker, the group coordinator first.
      kafkajsLogger.error('Response GroupCoordinator(key: 10, version: 2)', {
        error: 'The group coordinator is not available',
        correlationId: 1,
        size: 55,
      });
      kafkajsLogger.error('Response Metadata(key: 3, version: 6)', {
        error: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
        correlationId: 2,
        size: 90,
      });
      kafkajsLogger.error('Response Produce(key: 0, version: 7)', {
        error: 'The request included a message larger than the max message size the server will accept',
        correlationId: 3,
        size: 60,
      });
      assert.deepEqual(
        lines.map((line) => [line.level, line.msg]),
        [
          ['warn', 'Response GroupCoordinator(key: 10, version: 2)'],
          ['warn', 'Response Metadata(key: 3, version: 6)'],
          ['error', 'Response Produce(key: 0, version: 7)'],
        ],
      );
    },
  );

  await t.test(
    'when a broker answers that the group is rebalancing or forgot the member, then the line is a warning (the consumer rejoins)',
    () => {
      const { lines, logger } = capturedLogger();
      const { kafka } = createKafkaClient({ clientId: 'test', brokers: ['localhost:1'] }, logger);
      const kafkajsLogger = kafka.logger();
      // What every member logs on every rebalance (a replica added or removed, partitions added).
      kafkajsLogger.error('Response Heartbeat(key: 12, version: 3)', {
        error: 'The group is rebalancing, so a rejoin is needed',
        correlationId: 5,
        size: 10,
      });
      kafkajsLogger.error('Response OffsetCommit(key: 8, version: 5)', {
        error: 'The coordinator is not aware of this member',
        correlationId: 6,
        size: 10,
      });
      assert.deepEqual(
        lines.map((line) => [line.level, line.msg]),
        [
          ['warn', 'Response Heartbeat(key: 12, version: 3)'],
          ['warn', 'Response OffsetCommit(key: 8, version: 5)'],
        ],
      );
    },
  );

  await t.test('when a broker refuses the client a group, then lastRefusal gives its answer (kafkajs itself swallows it)', () => {
    const { logger } = capturedLogger();
    const client = createKafkaClient({ clientId: 'test', brokers: ['localhost:1'] }, logger);
    assert.equal(client.lastRefusal?.('GROUP_AUTHORIZATION_FAILED'), undefined);
    // As kafkajs's connection logs the broker's answer to FindCoordinator for a group the user may not read.
    client.kafka.logger().error('Response GroupCoordinator(key: 10, version: 2)', {
      broker: 'localhost:1',
      error: 'Not authorized to access group: Group authorization failed',
      correlationId: 4,
      size: 49,
    });
    assert.equal(client.lastRefusal?.('GROUP_AUTHORIZATION_FAILED'), 'Not authorized to access group: Group authorization failed');
    assert.equal(client.lastRefusal?.('TOPIC_AUTHORIZATION_FAILED'), undefined);
  });
});
