/**
 * A Kafka broker killed with SIGKILL mid-ingest (the first bootstrap broker): with RF 3 and
 * min.insync.replicas 2 the partitions it led get new leaders, so ingest must ride through the
 * lost connections and store every row exactly once. The broker is started again at the end.
 */
import { after, before, test } from 'node:test';
import { createScenario, generateMessages, IngestFleet, killClusterNode, restartClusterNode, waitForRows } from './cluster-harness.ts';
import type { Scenario } from './cluster-harness.ts';
import { assertEveryRowOnce, assertNoRestarts } from './node-loss-checks.ts';

const VICTIM = 'kafka-1';
const data = generateMessages(202);
let scenario: Scenario;
let fleet: IngestFleet;
let killed = false;

before(async () => {
  scenario = await createScenario('kafka-loss', 6);
  await scenario.produce(data.messages);
  fleet = new IngestFleet(scenario);
});

after(async () => {
  await fleet.stopAll();
  if (killed) await restartClusterNode(VICTIM);
  await scenario.cleanUp();
});

test(`when ${VICTIM} is killed mid-ingest, then ingest keeps running and every row is present once`, async () => {
  fleet.start('a');
  const rowsAtKill = await waitForRows(scenario, Math.floor(data.expectedIds.size / 4), 300_000);
  await killClusterNode(VICTIM);
  killed = true;
  await assertEveryRowOnce(scenario, fleet, data, { killed: VICTIM, rowsAtKill });
  assertNoRestarts(fleet);
});
