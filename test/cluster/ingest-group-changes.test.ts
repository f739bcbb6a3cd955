/**
 * Three ingest processes in one consumer group on a 6-partition topic; mid-ingest one is stopped
 * (SIGTERM, as a rolling update does) and another started. Each change rebalances the group:
 * no process may exit by itself, and every row must be present exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createScenario, generateMessages, IngestFleet, waitForRows } from './cluster-harness.ts';
import type { Scenario } from './cluster-harness.ts';
import { assertEveryRowOnce, assertNoRestarts } from './node-loss-checks.ts';

const data = generateMessages(303);
let scenario: Scenario;
let fleet: IngestFleet;

before(async () => {
  scenario = await createScenario('group-changes', 6);
  await scenario.produce(data.messages);
  fleet = new IngestFleet(scenario);
});

// `before` may have failed before creating either: its error is the one to report.
after(async () => {
  await fleet?.stopAll();
  await scenario?.cleanUp();
});

test('when one of three ingest processes is stopped and another started mid-ingest, then none exits by itself and every row is present once', async () => {
  for (const name of ['a', 'b', 'c']) fleet.start(name);
  const rowsAtChange = await waitForRows(scenario, Math.floor(data.expectedIds.size / 4), 300_000);
  const stoppedCode = await fleet.stop('a');
  fleet.start('d');
  assert.equal(stoppedCode, 0, 'the stopped process exited 0 on SIGTERM');
  await assertEveryRowOnce(scenario, fleet, data, { stopped: 'a', started: 'd', rowsAtChange });
  assertNoRestarts(fleet);
  const codes = await fleet.stopAll();
  assert.deepEqual(codes, { a: 0, b: 0, c: 0, d: 0 }, 'every process exits 0 on SIGTERM');
});
