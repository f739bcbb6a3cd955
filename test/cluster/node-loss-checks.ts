/**
 * The check every ingest scenario ends with: ingest committed everything, every expected row is
 * present exactly once, nothing unexpected, the dead letters all there; and, checked last, no
 * process had to be restarted. Prints the figures the report quotes.
 */
import assert from 'node:assert/strict';
import { countRows, deadLetterCount, waitForCommitted, waitForRows } from './cluster-harness.ts';
import type { IngestFleet, Scenario } from './cluster-harness.ts';

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
