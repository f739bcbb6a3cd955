/**
 * The aggregator with one Cassandra node of three down: its lease (SERIAL) and its reads and
 * writes (LOCAL_QUORUM) need two replicas of three, so one pass must still index every document
 * exactly as the independent reference computes it (test/reference). The node is started again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { GeneratedClickMessage } from '@clickstream/clickgen';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { compareWithReference, readAllMetricDocuments, toReferenceEvent } from '../e2e/metric-comparison.ts';
import { stackEnv, testLogger } from '../support/stack-clients.ts';
import { createScenario, generateMessages, IngestFleet, killClusterNode, restartClusterNode } from './cluster-harness.ts';
import type { Scenario } from './cluster-harness.ts';
import { assertEveryRowOnce, assertNoRestarts } from './node-loss-checks.ts';

const VICTIM = 'cassandra-2';
const data = generateMessages(404, 20_000);
let scenario: Scenario;
let es: ElasticsearchClient;
let killed = false;

before(async () => {
  scenario = await createScenario('aggregator', 3);
  es = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  await scenario.produce(data.messages);
});

// `before` may have failed before creating the scenario: its error is the one to report.
after(async () => {
  if (killed) await restartClusterNode(VICTIM);
  if (scenario === undefined) return;
  await es.driver.indices.delete({ index: `${scenario.alias}-v*`, ignore_unavailable: true, allow_no_indices: true });
  await es.driver.indices.deleteIndexTemplate({ name: `${scenario.alias}-template` }).catch(() => undefined);
  await es.close();
  await scenario.cleanUp({ keepKeyspace: killed });
});

/** `npm run aggregator -- --once` as a child process; resolves with its exit code and output. */
function aggregateOnce(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/aggregator/src/main.ts', '--once'], {
      env: { ...process.env, ...scenario.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

test(`when ${VICTIM} is down, then one aggregator pass indexes every document exactly as the reference computes it`, async () => {
  const fleet = new IngestFleet(scenario);
  fleet.start('a');
  try {
    await assertEveryRowOnce(scenario, fleet, data, {});
  } finally {
    await fleet.stopAll();
  }
  await killClusterNode(VICTIM);
  killed = true;
  const began = Date.now();
  const run = await aggregateOnce();
  assert.equal(run.code, 0, `the aggregator pass succeeded; its output:\n${run.output.slice(-3_000)}`);
  const clicks = data.messages.filter((m): m is GeneratedClickMessage => m.kind !== 'invalid');
  const stored = await readAllMetricDocuments(es, scenario.alias);
  const { compared, byGranularity, mismatches } = compareWithReference(
    stored,
    clicks.map((m) => toReferenceEvent(m.event)),
  );
  console.log(
    `cluster scenario: ${JSON.stringify({ scenario: 'aggregator', down: VICTIM, runMs: Date.now() - began, compared, byGranularity, mismatches: mismatches.length })}`,
  );
  assert.ok(compared > 0, 'documents were compared');
  assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} documents differ from the reference`);
  assertNoRestarts(fleet);
});
