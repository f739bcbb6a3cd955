import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * The commands whose wrong arguments used to print a stack trace, exit 1, be ignored, or (the
 * test runner) pass green with no test run. Each must stop at its arguments, before any server.
 */
const cases: { when: string; args: string[] }[] = [
  { when: 'npm run bench gets an unknown option', args: ['scripts/bench.ts', '--nope'] },
  { when: 'npm run bench:aggregator gets an unknown option', args: ['scripts/bench-aggregator.ts', '--nope'] },
  { when: 'npm run bench:cluster gets an unknown option', args: ['scripts/bench-cluster.ts', '--nope'] },
  { when: 'npm run stack:status gets an unknown option', args: ['scripts/stack/cli.ts', 'status', '--bogus'] },
  { when: 'npm run stack:status gets a node count there is no topology for', args: ['scripts/stack/cli.ts', 'status', '--nodes', '2'] },
  { when: 'npm run geoip:update gets an argument', args: ['scripts/geoip-update.ts', '--nope'] },
  { when: 'npm test gets an unknown option', args: ['scripts/test.ts', '--bogus'] },
  { when: 'npm test gets a filter no test file matches', args: ['scripts/test.ts', '--unit', 'no-such-test-file-xyz'] },
  { when: 'npm test gets two of its modes', args: ['scripts/test.ts', '--unit', '--integration'] },
];

for (const { when, args } of cases)
  test(`when ${when}, then it exits 2 with its usage`, () => {
    const result = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', ...args], {
      encoding: 'utf8',
      env: { ...process.env, STACK_NODES: '' },
      timeout: 60_000,
    });
    assert.equal(result.status, 2, `exit ${result.status}: ${result.stderr}`);
    assert.match(result.stderr, /usage:/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
