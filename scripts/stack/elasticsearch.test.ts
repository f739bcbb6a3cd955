/**
 * Where Elasticsearch's files go when root runs the stack from a private folder (such as a
 * checkout under /root, mode 0700): checked against the real file system, and, as root, with a
 * real unprivileged user trying to reach them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { placeElasticsearchHome, traversableByOthers } from './elasticsearch.ts';

const asRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(join(tmpdir(), 'es-placement-'));
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A checkout's state folder inside a folder closed to other users, plus an open folder for the outside copy. */
function privateCheckout(name: string): { stateDir: string; outsideRoot: string } {
  const home = join(scratch, name, 'home');
  mkdirSync(home, { recursive: true });
  chmodSync(home, 0o700);
  const outsideRoot = join(scratch, name, 'var-tmp');
  mkdirSync(outsideRoot, { recursive: true });
  chmodSync(outsideRoot, 0o1777);
  return { stateDir: join(home, 'checkout', '.stack'), outsideRoot };
}

/** True when the unprivileged user `nobody` can pass through `path` (every parent included). */
function nobodyCanReach(path: string): boolean {
  return spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'test', '-x', path]).status === 0;
}

describe('placeElasticsearchHome', () => {
  test('when root runs the stack from a private folder, then the files go outside behind a link, and the log says where', () => {
    const { stateDir, outsideRoot } = privateCheckout('fresh');
    const lines: string[] = [];
    const dir = placeElasticsearchHome(stateDir, (line) => lines.push(line), { asRoot: true, outsideRoot });
    assert.equal(dir, join(stateDir, 'elasticsearch'));
    assert.ok(lstatSync(dir).isSymbolicLink(), 'the state folder holds a link');
    const real = realpathSync(dir);
    assert.ok(real.startsWith(realpathSync(outsideRoot)), `${real} is under ${outsideRoot}`);
    assert.equal(traversableByOthers(stateDir), false);
    assert.equal(traversableByOthers(real), true);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', new RegExp(`files are in ${real.replaceAll('/', '\\/')}`));
  });

  test('when the private folder already holds a real elasticsearch folder, then its files are moved outside', () => {
    const { stateDir, outsideRoot } = privateCheckout('existing');
    mkdirSync(join(stateDir, 'elasticsearch', 'data'), { recursive: true });
    writeFileSync(join(stateDir, 'elasticsearch', 'data', 'marker'), 'kept');
    const dir = placeElasticsearchHome(stateDir, () => undefined, { asRoot: true, outsideRoot });
    assert.ok(lstatSync(dir).isSymbolicLink());
    assert.equal(readFileSync(join(realpathSync(dir), 'data', 'marker'), 'utf8'), 'kept');
  });

  test('when it is placed twice, then the second call keeps the same place', () => {
    const { stateDir, outsideRoot } = privateCheckout('twice');
    const first = realpathSync(placeElasticsearchHome(stateDir, () => undefined, { asRoot: true, outsideRoot }));
    const second = realpathSync(placeElasticsearchHome(stateDir, () => undefined, { asRoot: true, outsideRoot }));
    assert.equal(second, first);
  });

  test('when the folder is open to other users, or the stack does not run as root, then the folder stays where it is', () => {
    const open = join(scratch, 'open', '.stack');
    mkdirSync(open, { recursive: true });
    const lines: string[] = [];
    const dir = placeElasticsearchHome(open, (line) => lines.push(line), { asRoot: true, outsideRoot: scratch });
    assert.equal(lstatSync(dir).isDirectory(), true);
    assert.deepEqual(lines, []);
    const { stateDir } = privateCheckout('not-root');
    const mine = placeElasticsearchHome(stateDir, () => undefined, { asRoot: false });
    assert.equal(lstatSync(mine).isDirectory(), true);
  });

  test(
    'when root places the files, then an unprivileged user really reaches them and not the private folder',
    { skip: !asRoot && 'needs root' },
    () => {
      const { stateDir, outsideRoot } = privateCheckout('real-user');
      const dir = placeElasticsearchHome(stateDir, () => undefined, { asRoot: true, outsideRoot });
      assert.equal(nobodyCanReach(stateDir), false, 'the private folder is closed to nobody');
      assert.equal(nobodyCanReach(realpathSync(dir)), true, 'the placed folder is open to nobody');
      assert.ok(existsSync(dir));
    },
  );
});
