/**
 * `npm test`: unit tests first (no servers needed), then integration and end-to-end tests against
 * the real local stack. Brings the stack up when it is not already up, and stops only what it
 * started. Extra arguments: `--unit` (unit tests only), `--integration` (skip the unit tests),
 * any other argument is a file filter (substring of the test file path).
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { stackDown, stackIsUp, stackUp } from './stack/stack.ts';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const integrationOnly = args.includes('--integration');
const filters = args.filter((a) => !a.startsWith('--'));

const ignored = (path: string): boolean => path.includes('node_modules') || path.startsWith('.stack');
const matches = (path: string): boolean => filters.length === 0 || filters.some((f) => path.includes(f));
const all = globSync(['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'])
  .filter((p) => !ignored(p) && matches(p))
  .sort();
const isIntegration = (p: string): boolean => p.endsWith('.integration.test.ts') || p.startsWith('test/e2e/');
const unit = all.filter((p) => !isIntegration(p));
const integration = all.filter(isIntegration);

function runNodeTest(files: string[], extra: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', '--test', '--test-reporter=spec', ...extra, ...files],
      { stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let failed = false;
if (!integrationOnly && unit.length > 0) {
  console.log(`\n== unit tests (${unit.length} files)`);
  failed = (await runNodeTest(unit, [])) !== 0;
}
if (!unitOnly && integration.length > 0) {
  let started = false;
  if (!(await stackIsUp())) {
    console.log('\n== local stack is not up: starting it for the integration tests');
    await stackUp({ log: (line) => console.log(line) });
    started = true;
  }
  try {
    console.log(`\n== integration and end-to-end tests (${integration.length} files, one at a time)`);
    const code = await runNodeTest(integration, ['--test-concurrency=1', '--test-timeout=1200000']);
    failed = failed || code !== 0;
  } finally {
    if (started) {
      console.log('\n== stopping the local stack this run started');
      await stackDown({ log: (line) => console.log(line) });
    }
  }
}
process.exitCode = failed ? 1 : 0;
