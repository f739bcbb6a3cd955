import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['scripts/geoip-update.ts'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

for (const [when, env] of [
  ['no licence key is set', {}],
  ['the licence key is empty', { MAXMIND_LICENSE_KEY: '' }],
  ['the licence key holds shell characters', { MAXMIND_LICENSE_KEY: 'x;rm -rf /' }],
] as const) {
  test(`when ${when}, then geoip:update explains how to get one and exits 1 without downloading`, () => {
    const result = run(env);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /MAXMIND_LICENSE_KEY is not set/);
    assert.match(result.stderr, /MAXMIND_LICENSE_KEY=<your key> npm run geoip:update/);
  });
}
