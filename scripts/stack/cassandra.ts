/**
 * Cassandra 5.0 for the local stack (Java 17 exactly: no released Cassandra runs on 18+). One
 * node on 127.0.0.1:9042, or a ring of three on 127.0.0.1-3:9042 seeded by the first, which join
 * one after the other (Cassandra bootstraps one node at a time).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectCassandra, pingCassandra } from '@clickstream/cassandra';
import type { CassandraClient } from '@clickstream/cassandra';
import { createLogger } from '@clickstream/observability';
import { confDir, fetchWithMaven, javaHome, javaMajor, renderTemplate, startDetached } from './process.ts';
import type { Log } from './process.ts';
import { hostOf, nodeName, STACK_VERSIONS } from './topology.ts';
import type { NodeCount, StackNode, StackServer } from './topology.ts';

const quietLogger = createLogger({ service: 'stack', level: 'silent' });

export const CASSANDRA_PORT = 9042;

/** Cassandra's Java 17 flags, from its conf/jvm17-server.options. */
const CASSANDRA_JVM17 = [
  '-XX:+UseG1GC',
  '-XX:+ParallelRefProcEnabled',
  '-XX:MaxTenuringThreshold=1',
  '-XX:G1HeapRegionSize=16m',
  '-XX:G1RSetUpdatingPauseTimePercent=5',
  '-XX:MaxGCPauseMillis=300',
  '-XX:InitiatingHeapOccupancyPercent=70',
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].flatMap((module) => ['--add-exports', `${module}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
  ].flatMap((module) => ['--add-opens', `${module}=ALL-UNNAMED`]),
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

/**
 * Ring delays (`cassandra.ring_delay_ms`; Cassandra's default is 30 s). A seed (the single node
 * too) joins no one, so its delay only sets how long it waits for others: short. A joining node
 * sleeps its delay once ("JOINING: sleeping ... for pending range setup") and then exits with
 * "Unable to contact any seeds" unless it has the seed's gossip state by then: 1 s was too short
 * on a loaded machine (the seed answered after 7 s, three starts in a row, in a verification run).
 */
const SEED_RING_DELAY_MS = 1_000;
const JOINING_RING_DELAY_MS = 15_000;

/** Tokens each node owns (`num_tokens` in the rendered cassandra.yaml). */
export const TOKENS_PER_NODE = 16;

/**
 * The tokens node `index` (1-based) of a `count`-node ring starts with: the ring cut into
 * `count * TOKENS_PER_NODE` equal ranges, whose starts the nodes take in turn. Fixed tokens
 * cannot collide; tokens allocated at join time did once, when a node joined before gossip had
 * told it the previous node's ("Bootstrap Token collision"). A node that bootstrapped keeps the
 * tokens it saved, so a restart or an older state folder is unaffected.
 */
export function initialTokens(index: number, count: NodeCount): string[] {
  const ranges = BigInt(count * TOKENS_PER_NODE);
  const width = 2n ** 64n / ranges;
  return Array.from({ length: TOKENS_PER_NODE }, (_, k) => String(-(2n ** 63n) + BigInt(k * count + index - 1) * width));
}

/**
 * Resolves once the seed lists `host` with its tokens, which it does when the node is NORMAL
 * there. A joining node answers CQL before that; the next node starts only then, so that nodes
 * join one at a time, as Cassandra wants of range movements (since fixed tokens, see
 * {@link initialTokens}, a collision is no longer what the wait prevents).
 */
async function seedListsWithTokens(client: CassandraClient, host: string): Promise<void> {
  const seed = client.driver.hosts.values().find((known) => known.address === `${hostOf(1)}:${CASSANDRA_PORT}`);
  if (seed === undefined) throw new Error(`the seed ${hostOf(1)} is not known yet`);
  const peers = await client.driver.execute('SELECT peer, tokens FROM system.peers_v2', [], { host: seed, prepare: false });
  const tokens = peers.rows.find((row) => String(row.get('peer')) === host)?.get('tokens') as string[] | null | undefined;
  if ((tokens?.length ?? 0) === 0) throw new Error(`the seed does not list ${host} with tokens yet`);
}

/** Cassandra's nodes in a stack of `count` nodes, with their files under `stateDir`. */
export function cassandraServer(stateDir: string, count: NodeCount): StackServer {
  const lib = join(stateDir, 'cassandra', 'lib');
  // Three nodes share the machine with three brokers and Elasticsearch: smaller heaps keep the cluster within ~7 GB.
  const memory = count === 1 ? { heap: '1g', direct: '512m', memtableMiB: '256' } : { heap: '768m', direct: '256m', memtableMiB: '128' };

  const nodes = Array.from({ length: count }, (_, i): StackNode => {
    const name = nodeName('cassandra', i + 1, count);
    const host = hostOf(i + 1);
    const dir = join(stateDir, name);
    const logsDir = join(dir, 'logs');
    const address = `${host}:${CASSANDRA_PORT}`;
    return {
      name,
      server: 'cassandra',
      address,
      pidFile: join(dir, `${name}.pid`),
      logsDir,
      // A joining node waits for gossip and streams the schema before it answers.
      startTimeoutMs: 240_000,
      // A joining node that has not heard its seed's gossip by the end of its ring delay exits; with
      // the longer ring delay joining nodes get (below) that takes a machine loaded for many seconds,
      // and the next start usually joins.
      transientExit: {
        logFile: join(logsDir, 'stdout.log'),
        pattern: /Unable to contact any seeds/,
        why: 'its seed did not answer gossip in time',
      },
      start(log: Log): Promise<void> {
        for (const sub of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw', 'logs', 'conf'])
          mkdirSync(join(dir, sub), { recursive: true });
        const yaml = join(dir, 'conf', 'cassandra.yaml');
        writeFileSync(
          yaml,
          renderTemplate('cassandra.yaml', {
            STATE: dir,
            HOST: host,
            SEEDS: `${hostOf(1)}:7000`,
            TOKENS_PER_NODE: String(TOKENS_PER_NODE),
            INITIAL_TOKENS: initialTokens(i + 1, count).join(','),
            MEMTABLE_MIB: memory.memtableMiB,
          }),
        );
        const jamm = readdirSync(lib).find((f) => f.startsWith('jamm-') && f.endsWith('.jar'));
        if (!jamm) throw new Error(`cassandra: no jamm jar in ${lib}`);
        const args = [
          `-Xms${memory.heap}`,
          `-Xmx${memory.heap}`,
          `-XX:MaxDirectMemorySize=${memory.direct}`,
          '-Xss512k',
          ...CASSANDRA_JVM17,
          `-javaagent:${join(lib, jamm)}`,
          `-Dcassandra.config=file://${yaml}`,
          `-Dcassandra.storagedir=${dir}`,
          `-Dcassandra.logdir=${logsDir}`,
          `-Dlogback.configurationFile=${join(confDir, 'cassandra-logback.xml')}`,
          '-Dcassandra-foreground=yes',
          // Local JMX listens on 127.0.0.1 whatever the node's address: one port per node.
          `-Dcassandra.jmx.local.port=${7199 + i}`,
          '-Dcassandra.skip_wait_for_gossip_to_settle=0',
          `-Dcassandra.ring_delay_ms=${i === 0 ? SEED_RING_DELAY_MS : JOINING_RING_DELAY_MS}`,
          '-Dcassandra.superuser_setup_delay_ms=0',
          '-cp',
          `${join(dir, 'conf')}:${lib}/*`,
          'org.apache.cassandra.service.CassandraDaemon',
        ];
        const pid = startDetached('java', args, { logFile: join(logsDir, 'stdout.log'), pidFile: this.pidFile });
        log(`${name}: started (pid ${pid}, log ${join(logsDir, 'system.log')})`);
        return Promise.resolve();
      },
      async probe(): Promise<string> {
        const client = await connectCassandra(
          { contactPoints: [address], localDataCenter: 'datacenter1', keyspace: 'system' },
          quietLogger,
        );
        try {
          const { releaseVersion } = await pingCassandra(client);
          if (i > 0) await seedListsWithTokens(client, host);
          return `release ${releaseVersion}`;
        } finally {
          await client.shutdown();
        }
      },
    };
  });

  return {
    server: 'cassandra',
    nodes,
    sequential: true,
    async prepare(log: Log): Promise<void> {
      await fetchWithMaven('cassandra', STACK_VERSIONS.cassandra, 'cassandra.pom.xml', lib, log);
      const major = javaMajor(javaHome());
      if (major !== 17)
        throw new Error(`cassandra: needs Java 17 exactly (no released Cassandra runs on 18+), found Java ${major}; set JAVA_HOME`);
      for (const node of nodes) mkdirSync(node.logsDir, { recursive: true });
    },
  };
}
