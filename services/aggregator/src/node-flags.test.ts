import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AGGREGATOR_NODE_OPTIONS } from './node-flags.ts';

const repositoryFile = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

test('when the aggregator is started by `npm run aggregator` (so by compose and Kubernetes, which test/deploy holds to it), then it gets the V8 flags the bench measured', () => {
  const flags = AGGREGATOR_NODE_OPTIONS.split(' ');
  assert.ok(flags.length > 0 && flags.every((flag) => /^--[a-z-]+=\d+$/.test(flag)), AGGREGATOR_NODE_OPTIONS);
  const scripts = (JSON.parse(repositoryFile('package.json')) as { scripts: Record<string, string> }).scripts;
  const args = scripts.aggregator?.split(/\s+/) ?? [];
  assert.equal(args.at(-1), 'services/aggregator/src/main.ts');
  for (const flag of flags) assert.ok(args.includes(flag), `npm run aggregator has ${flag}`);
});
