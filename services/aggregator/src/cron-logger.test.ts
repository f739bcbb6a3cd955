import assert from 'node:assert/strict';
import { test } from 'node:test';
import cron from 'node-cron';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { cronLogger } from './cron-logger.ts';

await test('cronLogger', async (t) => {
  await t.test(
    "when a scheduled run outlasts its tick, then node-cron's overlap warning is a JSON log line, not console text",
    async () => {
      const { lines, logger } = capturedLogger();
      const printed = ['log', 'info', 'warn', 'error', 'debug'].map((method) => t.mock.method(console, method as 'log'));
      let finish = (): void => undefined;
      const running = new Promise<void>((resolve) => (finish = resolve));
      const task = cron.schedule('* * * * * *', () => running, { name: 'blocked', noOverlap: true, logger: cronLogger(logger) });
      try {
        await new Promise<void>((resolve) => task.on('execution:overlap', () => resolve()));
      } finally {
        finish();
        await task.destroy();
      }
      const overlap = lines.find((line) => String(line.msg).includes('overlap prevention'));
      assert.equal(overlap?.level, 'warn');
      assert.equal(overlap?.component, 'node-cron');
      assert.deepEqual(
        printed.flatMap((mock) => mock.mock.calls.map((call) => String(call.arguments[0]))),
        [],
        'nothing printed outside the JSON log',
      );
    },
  );

  await t.test('when node-cron reports an error with or without an Error, then it is logged with err and the message', () => {
    const { lines, logger } = capturedLogger({ level: 'debug' });
    const adapted = cronLogger(logger);
    adapted.error(new Error('task threw'));
    adapted.error('coordinator failed', new Error('boom'));
    adapted.info('started');
    adapted.debug('tick');
    assert.deepEqual(
      lines.map((line) => [line.level, line.msg, (line.err as { message?: string } | undefined)?.message]),
      [
        ['error', 'task threw', 'task threw'],
        ['error', 'coordinator failed', 'boom'],
        ['info', 'started', undefined],
        ['debug', 'tick', undefined],
      ],
    );
  });
});
