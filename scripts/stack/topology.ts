/**
 * What the local stack is made of: the servers, their nodes (one each by default, or a replicated
 * cluster of 3 Kafka brokers and 3 Cassandra nodes on 127.0.0.1-3), and how a node is started,
 * probed and found again. Each server file (kafka.ts, cassandra.ts, elasticsearch.ts) describes
 * its nodes with these types; stack.ts starts, probes and stops them.
 */
import type { Log } from './process.ts';

export type ServerName = 'kafka' | 'cassandra' | 'elasticsearch';
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 'cassandra', 'elasticsearch'];

/** Versions the local stack runs; the poms under scripts/stack/maven pin the same. */
export const STACK_VERSIONS = { kafka: '4.1.1', cassandra: '5.0.6', elasticsearch: '8.19.7' } as const;

/** Node counts the stack supports: one node each, or a 3-node cluster (RF 3) of Kafka and Cassandra. */
export type NodeCount = 1 | 3;
export const NODE_COUNTS: readonly NodeCount[] = [1, 3];

export interface StackNode {
  /** `kafka`, `cassandra`, `elasticsearch` on one node; `kafka-2`, `cassandra-3`... in a cluster. */
  readonly name: string;
  readonly server: ServerName;
  /** Where clients reach it: `127.0.0.2:9092`, `http://127.0.0.1:9200`. */
  readonly address: string;
  readonly pidFile: string;
  readonly logsDir: string;
  readonly startTimeoutMs: number;
  /**
   * An exit before answering that another start can get past (a peer too slow to answer while
   * the machine is loaded): the pattern in what `logFile` gained during the attempt, and why.
   */
  readonly transientExit?: { readonly logFile: string; readonly pattern: RegExp; readonly why: string };
  /** Starts the process (the server's files are prepared already); resolves once it is launched, not answering. */
  start(log: Log): Promise<void>;
  /** Asks the node what the product would ask it; resolves with a one-line detail. */
  probe(): Promise<string>;
}

/** One server's nodes, and whether they must start one after the other (Cassandra bootstraps one at a time). */
export interface StackServer {
  readonly server: ServerName;
  readonly nodes: readonly StackNode[];
  readonly sequential: boolean;
  /** Fetches and unpacks what every node of this server needs; idempotent. */
  prepare(log: Log): Promise<void>;
}

/** The loopback address of node `index` (1-based): 127.0.0.1, 127.0.0.2, ... (all of 127/8 is loopback). */
export function hostOf(index: number): string {
  return `127.0.0.${index}`;
}

/** `kafka` when alone, `kafka-2` in a cluster. */
export function nodeName(server: ServerName, index: number, count: NodeCount): string {
  return count === 1 ? server : `${server}-${index}`;
}
