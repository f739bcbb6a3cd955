/**
 * `npm test`: unit tests first (no servers needed), then integration and end-to-end tests against
 * the real local stack. Brings the stack up when it is not already up, and stops only what it
 * started, also when the tests fail, the stack fails to come up, or the run is interrupted.
 * Extra arguments: `--unit` (unit tests only), `--integration` (skip the unit tests), `--cluster`
 * (only the node-loss tests of test/cluster, on a 3-node stack: `npm run test:cluster`), any
 * other argument is a file filter (substring of the test file path). An unknown option, or
 * filters that select no test file, exit 2 with the usage.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { globSync } from 'node:fs';
import { parseCommandArguments } from '@clickstream/config';
import { stackDown, stackIsUp, stackUp } from './stack/stack.ts';
import type { NodeCount } from './stack/stack.ts';
import { stopOnSignals } from './stop-signals.ts';

const USAGE = 'usage: npm test -- [--unit | --integration | --cluster] [filter ...]   (a filter: part of a test file path)';
const { values, positionals: filters } = parseCommandArguments(
  { unit: { type: 'boolean' }, integration: { type: 'boolean' }, cluster: { type: 'boolean' } },
  USAGE,
);
const unitOnly = values.unit === true;
const integrationOnly = values.integration === true;
const cluster = values.cluster === true;
if ([unitOnly, integrationOnly, cluster].filter(Boolean).length > 1) {
  console.error(`one of --unit, --integration, --cluster at most\n${USAGE}`);
  process.exit(2);
}

const ignored = (path: string): boolean => path.includes('node_modules') || path.startsWith('.stack');
const matches = (path: string): boolean => filters.length === 0 || filters.some((f) => path.includes(f));
const isCluster = (p: string): boolean => p.startsWith('test/cluster/');
const all = globSync(['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'])
  .filter((p) => !ignored(p) && matches(p) && isCluster(p) === cluster)
  .sort();
const isIntegration = (p: string): boolean => p.endsWith('.integration.test.ts') || p.startsWith('test/e2e/') || isCluster(p);
const unit = all.filter((p) => !isIntegration(p));
const integration = all.filter(isIntegration);
// A filter that selects nothing (a typo) must not pass as a green run of no tests.
const selected = [...(integrationOnly ? [] : unit), ...(unitOnly ? [] : integration)];
if (filters.length > 0 && selected.length === 0) {
  console.error(
    `no ${unitOnly ? 'unit ' : integrationOnly ? 'integration ' : cluster ? 'cluster ' : ''}test file matches ${filters.join(' ')}\n${USAGE}`,
  );
  process.exit(2);
}
const nodes: NodeCount = cluster ? 3 : 1;
const log = (line: string): void => console.log(line);

/** What this run started and is running, so that an interruption stops exactly that. */
const running: { child: ChildProcess | null; stack: string[]; abort: AbortController } = {
  child: null,
  stack: [],
  abort: new AbortController(),
};

function runNodeTest(files: string[], extra: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', '--test', '--test-reporter=spec', ...extra, ...files],
      { stdio: 'inherit', env },
    );
    running.child = child;
    child.on('exit', (code, signal) => {
      running.child = null;
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function stopStarted(): Promise<void> {
  if (running.stack.length === 0) return;
  console.log('\n== stopping the local stack this run started');
  await stackDown({ log, only: running.stack });
  running.stack = [];
}

stopOnSignals(async (signal) => {
  console.log(`\n== ${signal}: stopping the tests and what this run started`);
  running.abort.abort();
  running.child?.kill(signal);
  // A stack still starting stops itself once aborted; what it launched so far is in running.stack.
  await stopStarted();
});

/** The cluster's addresses for the tests and the services they start (see test/support/stack-clients.ts). */
const clusterEnv = {
  KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092',
  CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042',
};

let failed = false;
if (!integrationOnly && unit.length > 0) {
  console.log(`\n== unit tests (${unit.length} files)`);
  failed = (await runNodeTest(unit, [], process.env)) !== 0;
}
if (!unitOnly && integration.length > 0) {
  try {
    if (!(await stackIsUp({ nodes }))) {
      console.log(`\n== local stack (${nodes} node${nodes > 1 ? 's' : ''}) is not up: starting it for the tests`);
      await stackUp({ log, nodes, signal: running.abort.signal, onStarted: (name) => running.stack.push(name) });
    }
    console.log(`\n== integration and end-to-end tests (${integration.length} files, one at a time)`);
    const env = cluster ? { ...process.env, ...clusterEnv } : process.env;
    const code = await runNodeTest(integration, ['--test-concurrency=1', '--test-timeout=1200000'], env);
    failed = failed || code !== 0;
  } catch (err) {
    console.error(`\n== ${err instanceof Error ? err.message : String(err)}`);
    failed = true;
  } finally {
    await stopStarted();
  }
}
process.exitCode = failed ? 1 : 0;
