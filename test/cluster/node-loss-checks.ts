/**
 * The check every ingest scenario ends with: ingest committed everything, every expected row is
 * present exactly once, nothing unexpected, the dead letters all there; and, checked last, no
 * process had to be restarted. Prints the figures the report quotes. Also the one node-loss
 * scenario the Cassandra and Kafka tests share, each with its own victim.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  IngestFleet,
  countRows,
  createScenario,
  deadLetterCount,
  generateMessages,
  killClusterNode,
  restartClusterNode,
  waitForCommitted,
  waitForRows,
} from './cluster-harness.ts';
import type { Scenario } from './cluster-harness.ts';

/**
 * Registers a node-loss test: one ingest process on 6 partitions, `victim` killed with SIGKILL
 * once a quarter of the rows is stored, then every row must be present once with no ingest
 * restart. The victim is started again afterwards.
 */
export function nodeLossScenario(options: { name: string; victim: string; seed: number }): void {
  const { name, victim, seed } = options;
  const data = generateMessages(seed);
  let scenario: Scenario;
  let fleet: IngestFleet;
  let killed = false;

  before(async () => {
    scenario = await createScenario(name, 6);
    await scenario.produce(data.messages);
    fleet = new IngestFleet(scenario);
  });

  // `before` may have failed before creating either: its error is the one to report.
  after(async () => {
    await fleet?.stopAll();
    if (killed) await restartClusterNode(victim);
    await scenario?.cleanUp({ keepKeyspace: killed && victim.startsWith('cassandra') });
  });

  test(`when ${victim} is killed mid-ingest, then ingest keeps running and every row is present once`, async () => {
    fleet.start('a');
    const rowsAtKill = await waitForRows(scenario, Math.floor(data.expectedIds.size / 4), 300_000);
    await killClusterNode(victim);
    killed = true;
    await assertEveryRowOnce(scenario, fleet, data, { killed: victim, rowsAtKill });
    assertNoRestarts(fleet);
  });
}

export async function assertEveryRowOnce(
  scenario: Scenario,
  fleet: IngestFleet,
  data: { expectedIds: ReadonlySet<string>; invalid: number },
  context: Record<string, unknown>,
): Promise<void> {
  await waitForRows(scenario, data.expectedIds.size, 300_000);
  const lag = await waitForCommitted(scenario, 300_000);
  const rows = await countRows(scenario, data.expectedIds);
  const deadLetters = await deadLetterCount(scenario);
  const figures = {
    scenario: scenario.name,
    ...context,
    ...rows,
    lag,
    deadLetters,
    invalid: data.invalid,
    restarts: fleet.restarts.length,
  };
  console.log(`cluster scenario: ${JSON.stringify(figures)}`);
  assert.equal(lag, 0, 'the group committed every message');
  assert.deepEqual(
    { missing: rows.missing, duplicated: rows.duplicated, unexpected: rows.unexpected },
    { missing: 0, duplicated: 0, unexpected: 0 },
    'every expected row present exactly once',
  );
  assert.ok(deadLetters >= data.invalid, `every invalid message dead-lettered (${deadLetters} of ${data.invalid})`);
}

/** No ingest process exited without being asked to (the orchestrator of a real deployment would have restarted it). */
export function assertNoRestarts(fleet: IngestFleet): void {
  assert.deepEqual(
    fleet.restarts.map((r) => `${r.name}: ${r.signal ?? `code ${r.code}`}`),
    [],
    'no ingest process exited by itself',
  );
}
