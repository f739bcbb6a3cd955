/**
 * The local stack: real Kafka (KRaft), Cassandra 5.0 and Elasticsearch 8 on loopback, fetched from
 * Maven Central with Maven (cached in ~/.m2) and run as plain `java` processes, no Docker needed.
 * One node of each by default; `nodes: 3` makes Kafka and Cassandra 3-node clusters on
 * 127.0.0.1-3 (RF 3, min ISR 2) beside one Elasticsearch node. Everything they write (downloads,
 * data, logs, pid files) lives in one git-ignored folder, `.stack/` at the repository root (or
 * CLICKSTREAM_STACK_DIR). This file orchestrates; each server's details are in its own file.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cassandraServer } from './cassandra.ts';
import { elasticsearchServer } from './elasticsearch.ts';
import { kafkaServer } from './kafka.ts';
import { answers, firstLine, killProcess, livePid, repoRoot, stopProcess, waitUntilAnswering } from './process.ts';
import type { Log } from './process.ts';
import { NODE_COUNTS } from './topology.ts';
import type { NodeCount, ServerName, StackNode, StackServer } from './topology.ts';

export { SERVER_NAMES, STACK_VERSIONS } from './topology.ts';
export type { NodeCount, ServerName } from './topology.ts';

export interface StackOptions {
  log: Log;
  stateDir?: string;
  /** 1 (the default) or 3: a replicated cluster of Kafka and Cassandra. */
  nodes?: NodeCount;
  /** Aborting stops starting further nodes; what this call started is stopped and the call rejects. */
  signal?: AbortSignal;
  /** Called as soon as a node was launched, so that a caller interrupted mid-way knows what to stop. */
  onStarted?: (name: string) => void;
}

export interface NodeStatus {
  name: string;
  server: ServerName;
  address: string;
  /** Pid of the process this stack started, when it is alive. */
  pid: number | null;
  answering: boolean;
  detail: string;
}

export function stateDirOf(options?: { stateDir?: string }): string {
  return resolve(options?.stateDir ?? process.env.CLICKSTREAM_STACK_DIR ?? join(repoRoot, '.stack'));
}

/** Parses a node count (`--nodes`, STACK_NODES); undefined or empty means the default, 1. */
export function parseNodeCount(value: string | undefined): NodeCount {
  if (value === undefined || value === '') return 1;
  const count = Number(value);
  const known = NODE_COUNTS.find((n) => n === count);
  if (known === undefined) throw new Error(`the node count must be one of ${NODE_COUNTS.join(', ')}, got '${value}'`);
  return known;
}

const topologyFile = (stateDir: string): string => join(stateDir, 'nodes');

/** The node count the last `stack:up` of this state folder used (1 when none did). */
function recordedNodeCount(stateDir: string): NodeCount {
  if (!existsSync(topologyFile(stateDir))) return 1;
  try {
    return parseNodeCount(readFileSync(topologyFile(stateDir), 'utf8').trim());
  } catch {
    return 1;
  }
}

function serversOf(stateDir: string, count: NodeCount): StackServer[] {
  return [kafkaServer(stateDir, count), cassandraServer(stateDir, count), elasticsearchServer(stateDir)];
}

/** The topology status and tests look at by default: the last `stack:up`'s while any of its nodes runs, else one node. */
function currentNodeCount(stateDir: string): NodeCount {
  const recorded = recordedNodeCount(stateDir);
  const running = serversOf(stateDir, recorded).some((server) => server.nodes.some((node) => livePid(node.pidFile) !== null));
  return running ? recorded : 1;
}

/** Every node of a topology (the running one unless `nodes` is given), server by server. */
export function stackNodes(options?: { stateDir?: string; nodes?: NodeCount }): StackNode[] {
  const stateDir = stateDirOf(options);
  return serversOf(stateDir, options?.nodes ?? currentNodeCount(stateDir)).flatMap((s) => s.nodes);
}

/** Every node of every topology, each once (for stopping whatever runs from this state folder). */
function allKnownNodes(stateDir: string): StackNode[] {
  const byName = new Map<string, StackNode>();
  for (const count of NODE_COUNTS)
    for (const server of serversOf(stateDir, count)) for (const node of server.nodes) byName.set(node.name, node);
  return [...byName.values()];
}

/** Each node of the stack (the running topology unless `nodes` is given): answering or not, and its pid. */
export async function stackStatus(options?: { stateDir?: string; nodes?: NodeCount }): Promise<NodeStatus[]> {
  return Promise.all(
    stackNodes(options).map(async (node) => {
      const state = await answers(() => node.probe());
      return {
        name: node.name,
        server: node.server,
        address: node.address,
        pid: livePid(node.pidFile),
        answering: state.ok,
        detail: state.detail,
      };
    }),
  );
}

export async function stackIsUp(options?: { stateDir?: string; nodes?: NodeCount }): Promise<boolean> {
  return (await stackStatus(options)).every((s) => s.answering);
}

/** Starts a node at most this many times when it exits in a way its {@link StackNode.transientExit} names. */
export const START_ATTEMPTS = 3;

/**
 * Launches one node unless its process runs already, then waits until it answers; a node that
 * exits before answering for a reason its `transientExit` names is started again (at most
 * {@link START_ATTEMPTS} starts in all).
 */
export async function bringUp(node: StackNode, options: StackOptions, started: string[]): Promise<void> {
  const { log } = options;
  for (let attempt = 1; ; attempt += 1) {
    const logFile = node.transientExit?.logFile;
    const logFrom = logFile !== undefined && existsSync(logFile) ? statSync(logFile).size : 0;
    if (livePid(node.pidFile) === null) {
      if (options.signal?.aborted) throw new Error(`${node.name}: start aborted`);
      await node.start(log);
      if (!started.includes(node.name)) started.push(node.name);
      options.onStarted?.(node.name);
    } else {
      log(`${node.name}: process running, waiting for it to answer`);
    }
    try {
      const detail = await waitUntilAnswering(node.name, () => node.probe(), {
        address: node.address,
        timeoutMs: node.startTimeoutMs,
        logsDir: node.logsDir,
        exited: () => livePid(node.pidFile) === null,
        log,
        signal: options.signal,
      });
      log(`${node.name}: ready on ${node.address} (${detail})`);
      return;
    } catch (err) {
      const transient = node.transientExit;
      const gained = logFile !== undefined && existsSync(logFile) ? readFileSync(logFile).subarray(logFrom).toString('utf8') : '';
      if (attempt >= START_ATTEMPTS || transient === undefined || livePid(node.pidFile) !== null || !transient.pattern.test(gained))
        throw err;
      log(`${node.name}: exited before answering (${transient.why}); starting it again (start ${attempt + 1} of ${START_ATTEMPTS})`);
    }
  }
}

/** Brings one server's nodes up: those that do not answer yet, one after the other when the server needs it. */
async function bringUpServer(server: StackServer, options: StackOptions, started: string[]): Promise<void> {
  const states = await Promise.all(server.nodes.map((node) => answers(() => node.probe())));
  const missing = server.nodes.filter((node, i) => {
    const state = states[i];
    if (state?.ok) options.log(`${node.name}: already answering on ${node.address} (${state.detail})`);
    return !state?.ok;
  });
  if (missing.length === 0) return;
  await server.prepare(options.log);
  if (server.sequential) {
    for (const node of missing) await bringUp(node, options, started);
    return;
  }
  const results = await Promise.allSettled(missing.map((node) => bringUp(node, options, started)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [firstLine(r.reason)] : []));
  if (failures.length > 0) throw new Error(failures.join('\n  '));
}

/**
 * Brings the stack up; idempotent. A node that already answers (started earlier, or by someone
 * else such as docker compose) is left alone. Resolves with the names of the nodes this call
 * started, once every node answers. When a node fails to come up (or `signal` aborts), stops every
 * node this call started and rejects naming the node, the timeout and the log folder.
 */
export async function stackUp(options: StackOptions): Promise<string[]> {
  const stateDir = stateDirOf(options);
  const count = options.nodes ?? 1;
  mkdirSync(stateDir, { recursive: true });
  const recorded = recordedNodeCount(stateDir);
  if (recorded !== count && stackNodes({ stateDir, nodes: recorded }).some((node) => livePid(node.pidFile) !== null))
    throw new Error(`a ${recorded}-node stack is running from ${stateDir}; run npm run stack:down first`);
  writeFileSync(topologyFile(stateDir), String(count));
  const started: string[] = [];
  // The first server that fails stops the others from waiting on: what started is stopped below.
  const abort = new AbortController();
  options.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const results = await Promise.allSettled(
    serversOf(stateDir, count).map((server) =>
      bringUpServer(server, { ...options, signal: abort.signal }, started).catch((err: unknown) => {
        abort.abort();
        throw err;
      }),
    ),
  );
  const failures = results.flatMap((r) =>
    r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
  );
  if (failures.length === 0) return started;
  if (started.length > 0) {
    options.log(`stopping what this start launched (${started.join(', ')})`);
    await stackDown({ log: options.log, stateDir, only: started });
  }
  throw new Error(`local stack did not come up:\n  ${failures.join('\n  ')}`);
}

/** Stops the nodes this state folder started (all, or `only` those named), waiting until each process is gone. */
export async function stackDown(options: { log: Log; stateDir?: string; only?: readonly string[] }): Promise<void> {
  const stateDir = stateDirOf(options);
  const nodes = allKnownNodes(stateDir).filter((node) => options.only?.includes(node.name) ?? true);
  const running = nodes.flatMap((node) => {
    const pid = livePid(node.pidFile);
    return pid === null ? [] : [{ node, pid }];
  });
  if (running.length === 0) options.log('nothing running from this stack');
  await Promise.all(
    running.map(async ({ node, pid }) => {
      options.log(`${node.name}: stopping pid ${pid}`);
      await stopProcess(pid, node.name, options.log);
      options.log(`${node.name}: stopped`);
    }),
  );
}

function nodeNamed(name: string, stateDir: string): StackNode {
  const node = allKnownNodes(stateDir).find((n) => n.name === name);
  if (!node) throw new Error(`no stack node named '${name}'`);
  return node;
}

/** Kills one node at once (SIGKILL, like a machine that dies), for node-loss tests. Resolves once it is gone. */
export async function killNode(name: string, options?: { stateDir?: string }): Promise<void> {
  const pid = livePid(nodeNamed(name, stateDirOf(options)).pidFile);
  if (pid === null) throw new Error(`${name} is not running from this stack`);
  await killProcess(pid);
}

/** Starts one node of the running stack again (after killNode) and resolves once it answers. */
export async function restartNode(name: string, options: { log: Log; stateDir?: string }): Promise<void> {
  const node = nodeNamed(name, stateDirOf(options));
  await bringUp(node, { log: options.log, stateDir: options.stateDir }, []);
}
