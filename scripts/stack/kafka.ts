/**
 * Kafka (KRaft, no ZooKeeper) for the local stack. One node: broker and controller on
 * 127.0.0.1:9092. A cluster: three nodes on 127.0.0.1-3:9092, each broker and controller (a
 * quorum of 3 voters on port 9093, so losing one node keeps both the quorum and the data), with
 * topics replicated 3 times and min.insync.replicas 2.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKafkaClient, pingKafka } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';
import { confDir, fetchWithMaven, renderTemplate, runToCompletion, startDetached } from './process.ts';
import type { Log } from './process.ts';
import { hostOf, nodeName, STACK_VERSIONS } from './topology.ts';
import type { NodeCount, StackNode, StackServer } from './topology.ts';

const quietLogger = createLogger({ service: 'stack', level: 'silent' });

export const KAFKA_PORT = 9092;

/**
 * A new KRaft cluster id: 16 random bytes in URL-safe base64, as Kafka's own `Uuid.randomUuid()`
 * makes them, and like it never starting with `-`, which the storage tool's command line would
 * read as an option (1 id in 64: the stack then failed to start). The id is also passed as
 * `--cluster-id=<id>`, so one written by an earlier version still formats.
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Kafka's nodes in a stack of `count` nodes, with their files under `stateDir`. */
export function kafkaServer(stateDir: string, count: NodeCount): StackServer {
  // The jars are shared by every node; each node has its own data, logs and properties.
  const lib = join(stateDir, 'kafka', 'lib');
  const clusterIdFile = join(stateDir, count === 1 ? 'kafka' : 'kafka-1', 'cluster.id');
  const hosts = Array.from({ length: count }, (_, i) => hostOf(i + 1));
  const voters = hosts.map((host, i) => `${i + 1}@${host}:9093`).join(',');
  const jvm = (logsDir: string): string[] => [
    ...(count === 1 ? ['-Xms384m', '-Xmx512m'] : ['-Xms256m', '-Xmx384m']),
    '-XX:+UseG1GC',
    `-Dkafka.logs.dir=${logsDir}`,
    `-Dlog4j2.configurationFile=${join(confDir, 'kafka-log4j2.properties')}`,
  ];

  /** One id for every node of the cluster, created by the first node that needs it. */
  const clusterId = (): string => {
    if (existsSync(clusterIdFile)) return readFileSync(clusterIdFile, 'utf8').trim();
    const id = newClusterId();
    writeFileSync(clusterIdFile, id);
    return id;
  };

  const nodes = hosts.map((host, i): StackNode => {
    const name = nodeName('kafka', i + 1, count);
    const dir = join(stateDir, name);
    const logsDir = join(dir, 'logs');
    const address = `${host}:${KAFKA_PORT}`;
    return {
      name,
      server: 'kafka',
      address,
      pidFile: join(dir, `${name}.pid`),
      logsDir,
      startTimeoutMs: 120_000,
      async start(log: Log): Promise<void> {
        for (const sub of ['data', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
        const properties = join(dir, 'server.properties');
        writeFileSync(
          properties,
          renderTemplate('kafka-server.properties', {
            STATE: dir,
            NODE_ID: String(i + 1),
            HOST: host,
            VOTERS: voters,
            RF: String(count),
            MIN_ISR: String(count === 1 ? 1 : 2),
          }),
        );
        if (!existsSync(join(dir, 'data', 'meta.properties'))) {
          const id = clusterId();
          log(`${name}: formatting KRaft storage (cluster ${id})`);
          await runToCompletion(
            'java',
            [
              ...jvm(logsDir),
              '-cp',
              `${lib}/*`,
              'kafka.tools.StorageTool',
              'format',
              `--cluster-id=${id}`,
              '-c',
              properties,
              '--ignore-formatted',
            ],
            { logFile: join(logsDir, 'format.log') },
          );
        }
        const pid = startDetached('java', [...jvm(logsDir), '-cp', `${lib}/*`, 'kafka.Kafka', properties], {
          logFile: join(logsDir, 'stdout.log'),
          pidFile: this.pidFile,
        });
        log(`${name}: started (pid ${pid}, log ${join(logsDir, 'server.log')})`);
      },
      async probe(): Promise<string> {
        const client = createKafkaClient({ brokers: [address], clientId: 'stack-probe', retries: 0, requestTimeoutMs: 5_000 }, quietLogger);
        const meta = await pingKafka(client);
        // A cluster node answers once every broker registered: topics of RF 3 need all three.
        if (meta.brokers < count) throw new Error(`${meta.brokers} of ${count} brokers registered`);
        return `${meta.brokers} broker(s), controller ${meta.controller ?? '?'}, cluster ${meta.clusterId}`;
      },
    };
  });

  return {
    server: 'kafka',
    nodes,
    sequential: false,
    async prepare(log: Log): Promise<void> {
      await fetchWithMaven('kafka', STACK_VERSIONS.kafka, 'kafka.pom.xml', lib, log);
      for (const node of nodes) mkdirSync(node.logsDir, { recursive: true });
    },
  };
}
