import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIGURED_SERVICES, configTable } from '../../scripts/config-table.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

for (const [service, shape] of Object.entries(CONFIGURED_SERVICES)) {
  test(`when the ${service} config schema is rendered, then README.md holds exactly that table (regenerate with node scripts/node24.mjs scripts/config-table.ts)`, () => {
    assert.ok(
      readme.includes(`#### ${service}\n\n${configTable(shape)}\n`),
      `README.md's ${service} table differs from services/${service}/src/config.ts`,
    );
  });
}

test('when README.md names an environment variable in a table, then some service reads it', () => {
  const known = new Set(Object.values(CONFIGURED_SERVICES).flatMap((shape) => Object.keys(shape)));
  const named = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.ok(named.length > 10);
  assert.deepEqual(
    named.filter((name) => name !== undefined && !known.has(name)),
    [],
  );
});

test('when README.md gives commands, then package.json defines each npm script it names', () => {
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts,
  );
  const named = new Set([...readme.matchAll(/npm run ([a-z:]+)/g)].map((m) => m[1]));
  assert.ok(named.size > 3);
  assert.deepEqual(
    [...named].filter((name) => name !== undefined && !scripts.includes(name)),
    [],
  );
});

test('when the documents are read, then no merge left its conflict markers in them', () => {
  for (const name of ['README.md', 'report.md', 'ARCHITECTURE.md', 'deploy/README.md']) {
    const text = readFileSync(join(import.meta.dirname, '..', '..', name), 'utf8');
    assert.deepEqual(text.match(/^(<{7}|>{7}|={7})( |$)/gm), null, `${name} holds conflict markers`);
  }
});
