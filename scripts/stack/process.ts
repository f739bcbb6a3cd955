/**
 * The process helper every server of the local stack uses: run a command to completion, start a
 * detached server with a pid file and a log, find it again from its pid file, wait until it
 * answers, stop it. Also the Java and Maven steps the three servers share.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const confDir = join(here, 'conf');
const mavenDir = join(here, 'maven');

export type Log = (line: string) => void;

/** Runs a command to completion with its output appended to `logFile`; rejects on a non-zero exit. */
export function runToCompletion(
  command: string,
  args: readonly string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const fd = openSync(options.logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } });
    closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} exited with ${signal ?? code}; see ${options.logFile}`)),
    );
  });
}

/** Starts a detached process writing to `logFile`, records its pid in `pidFile`, returns the pid. */
export function startDetached(
  command: string,
  args: readonly string[],
  options: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv },
): number {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...options.env } });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  writeFileSync(options.pidFile, String(child.pid));
  return child.pid;
}

/** The pid recorded in `pidFile`, when that process is still alive and is a java process. */
export function livePid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    // A zombie still has a /proc entry but an empty command line: it counts as gone.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('java') ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, label: string, log: Log, graceMs = 45_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(250);
  if (isAlive(pid)) {
    log(`${label}: did not stop within ${graceMs / 1000} s of SIGTERM, killing`);
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(100);
  }
}

/** Kills a process at once (SIGKILL, the way a machine dies) and resolves once it is gone. */
export async function killProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isAlive(pid)) await sleep(50);
}

/** The first line of an error's message, for status lines. */
export function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
}

/** `probe` resolved (with its detail) or failed (with the first line of its error). */
export async function answers(probe: () => Promise<string>): Promise<{ ok: boolean; detail: string }> {
  try {
    return { ok: true, detail: await probe() };
  } catch (err) {
    return { ok: false, detail: firstLine(err) };
  }
}

/**
 * Polls `probe` every second until it answers; rejects when `exited()` says the process is gone,
 * when the deadline passes, or when `signal` aborts. Logs a heartbeat every 15 s.
 */
export async function waitUntilAnswering(
  label: string,
  probe: () => Promise<string>,
  options: { address: string; timeoutMs: number; logsDir: string; exited: () => boolean; log: Log; signal?: AbortSignal },
): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const state = await answers(probe);
    if (state.ok) return state.detail;
    if (options.signal?.aborted) throw new Error(`${label}: start aborted`);
    if (options.exited()) throw new Error(`${label}: the process exited before answering; read ${options.logsDir}`);
    if (Date.now() > deadline) {
      throw new Error(
        `${label}: not answering on ${options.address} after ${options.timeoutMs / 1000} s (${state.detail}); read ${options.logsDir}`,
      );
    }
    if (Date.now() - lastLog > 15_000) {
      options.log(`${label}: waiting to answer on ${options.address}...`);
      lastLog = Date.now();
    }
    await sleep(1_000);
  }
}

/** Runs Maven to copy a pom's dependencies into `lib`, once; prints a heartbeat while it works. */
export async function fetchWithMaven(label: string, version: string, pom: string, lib: string, log: Log): Promise<void> {
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return;
  mkdirSync(lib, { recursive: true });
  const logFile = join(dirname(lib), 'maven.log');
  log(`${label}: fetching ${version} with Maven into ${lib} (cached in ~/.m2; the first time takes minutes; log: ${logFile})`);
  const started = Date.now();
  const timer = setInterval(() => log(`${label}: still fetching (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    await runToCompletion('mvn', ['-B', '-ntp', '-f', join(mavenDir, pom), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
      logFile,
    });
  } finally {
    clearInterval(timer);
  }
  writeFileSync(marker, new Date().toISOString());
  log(`${label}: fetched in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** A file of scripts/stack/conf with every `@KEY@` replaced by `values[KEY]`; an unknown key throws. */
export function renderTemplate(file: string, values: Readonly<Record<string, string>>): string {
  return readFileSync(join(confDir, file), 'utf8').replaceAll(/@([A-Z_]+)@/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${file}: no value for @${key}@`);
    return value;
  });
}

export function javaHome(): string {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const java = execFileSync('readlink', ['-f', execFileSync('which', ['java'], { encoding: 'utf8' }).trim()], { encoding: 'utf8' }).trim();
  return resolve(dirname(java), '..');
}

export function javaMajor(home: string): number {
  const { stderr } = spawnSync(join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)/.exec(stderr);
  return match ? Number(match[1]) : 0;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
