import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import type { CassandraClient } from './cassandra-client.ts';
import { upgradePendingHours } from './pending-hours-upgrade.ts';

await test('upgradePendingHours', async (t) => {
  await t.test(
    "when v1's pending_hours cannot be read (too many tombstones), then the start goes on, the error is logged and the table kept",
    async () => {
      const queries: string[] = [];
      // A driver that has the legacy table and fails to read it as Cassandra does past its tombstone threshold.
      const client = {
        keyspace: 'ks',
        driver: {
          execute: (query: string) => {
            queries.push(query);
            if (query.includes('system_schema.tables')) return Promise.resolve({ rowLength: 1, rows: [{}] });
            return Promise.reject(new Error('Operation failed - received 0 responses and 1 failures: READ_TOO_MANY_TOMBSTONES'));
          },
        },
      } as unknown as CassandraClient;
      const { lines, logger } = capturedLogger();
      assert.equal(await upgradePendingHours(client, logger), 0);
      assert.ok(
        lines.some((line) => line.level === 'error' && String(line.msg).includes('pending_hours could not be read')),
        JSON.stringify(lines),
      );
      assert.ok(!queries.some((query) => query.startsWith('DROP')), 'the table is kept for a later start');
      assert.ok(!queries.some((query) => query.includes('hour_changes')), 'nothing marked');
    },
  );
});
