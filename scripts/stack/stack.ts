/**
 * The local stack: real Kafka (KRaft), Cassandra 5.0 and Elasticsearch 8 on loopback, fetched from
 * Maven Central with Maven (cached in ~/.m2) and run as plain `java` processes, no Docker needed.
 * Everything they write (downloads, data, logs, pid files) lives in one git-ignored folder,
 * `.stack/` at the repository root (or CLICKSTREAM_STACK_DIR).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connectCassandra, pingCassandra } from '@clickstream/cassandra';
import { createElasticsearchClient, pingElasticsearch } from '@clickstream/elasticsearch';
import { createKafkaClient, pingKafka } from '@clickstream/kafka';
import { createLogger } from '@clickstream/observability';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const confDir = join(here, 'conf');
const mavenDir = join(here, 'maven');

/** Versions the local stack runs; the poms under scripts/stack/maven pin the same. */
export const STACK_VERSIONS = { kafka: '4.1.1', cassandra: '5.0.6', elasticsearch: '8.19.7' } as const;

/** The unprivileged user Elasticsearch runs as when the stack is started by root. */
const ES_USER = 'clickstack';

export type ServerName = 'kafka' | 'cassandra' | 'elasticsearch';
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 'cassandra', 'elasticsearch'];

export interface StackOptions {
  log: (line: string) => void;
  stateDir?: string;
}

export interface ServerStatus {
  name: ServerName;
  address: string;
  /** Pid of the process this stack started, when it is alive. */
  pid: number | null;
  answering: boolean;
  detail: string;
}

const addresses: Record<ServerName, string> = {
  kafka: '127.0.0.1:9092',
  cassandra: '127.0.0.1:9042',
  elasticsearch: 'http://127.0.0.1:9200',
};
const startTimeoutMs: Record<ServerName, number> = { kafka: 120_000, cassandra: 240_000, elasticsearch: 240_000 };

export function stateDirOf(options?: { stateDir?: string }): string {
  return resolve(options?.stateDir ?? process.env.CLICKSTREAM_STACK_DIR ?? join(repoRoot, '.stack'));
}

const quietLogger = createLogger({ service: 'stack', level: 'silent' });

/** Probes one server the way the product uses it: Kafka metadata, a CQL query, cluster health. */
async function probe(name: ServerName): Promise<string> {
  switch (name) {
    case 'kafka': {
      const client = createKafkaClient(
        { brokers: [addresses.kafka], clientId: 'stack-probe', retries: 0, requestTimeoutMs: 5_000 },
        quietLogger,
      );
      const meta = await pingKafka(client);
      return `${meta.brokers} broker(s), cluster ${meta.clusterId}`;
    }
    case 'cassandra': {
      const client = await connectCassandra(
        { contactPoints: [addresses.cassandra], localDataCenter: 'datacenter1', keyspace: 'system' },
        quietLogger,
      );
      try {
        return `release ${(await pingCassandra(client)).releaseVersion}`;
      } finally {
        await client.shutdown();
      }
    }
    case 'elasticsearch': {
      const client = createElasticsearchClient({ url: addresses.elasticsearch, requestTimeoutMs: 5_000 }, quietLogger);
      try {
        const health = await pingElasticsearch(client);
        return `version ${health.version}, health ${health.status}`;
      } finally {
        await client.close();
      }
    }
  }
}

async function answers(name: ServerName): Promise<{ ok: boolean; detail: string }> {
  try {
    return { ok: true, detail: await probe(name) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) };
  }
}

function pidFile(stateDir: string, name: ServerName): string {
  return join(stateDir, name, `${name}.pid`);
}

/** The pid recorded for a server, when that process is still alive and is a java process. */
function livePid(stateDir: string, name: ServerName): number | null {
  const file = pidFile(stateDir, name);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('java') ? pid : null;
  } catch {
    return null;
  }
}

export async function stackStatus(options?: { stateDir?: string }): Promise<ServerStatus[]> {
  const stateDir = stateDirOf(options);
  return Promise.all(
    SERVER_NAMES.map(async (name) => {
      const state = await answers(name);
      return { name, address: addresses[name], pid: livePid(stateDir, name), answering: state.ok, detail: state.detail };
    }),
  );
}

export async function stackIsUp(options?: { stateDir?: string }): Promise<boolean> {
  return (await stackStatus(options)).every((s) => s.answering);
}

function run(command: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${command} exited with ${code}; see ${logFile}`))));
  });
}

/** Runs Maven to copy a pom's dependencies into `lib`, once; prints a heartbeat while it works. */
async function fetchWithMaven(name: ServerName, pom: string, lib: string, log: (line: string) => void): Promise<void> {
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return;
  mkdirSync(lib, { recursive: true });
  const logFile = join(dirname(lib), 'maven.log');
  log(`${name}: fetching ${STACK_VERSIONS[name]} with Maven into ${lib} (cached in ~/.m2; the first time takes minutes; log: ${logFile})`);
  const started = Date.now();
  const timer = setInterval(() => log(`${name}: still fetching (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
  try {
    await run('mvn', ['-B', '-ntp', '-f', join(mavenDir, pom), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], logFile);
  } finally {
    clearInterval(timer);
  }
  writeFileSync(marker, new Date().toISOString());
  log(`${name}: fetched in ${Math.round((Date.now() - started) / 1000)} s`);
}

function template(file: string, stateDir: string): string {
  return readFileSync(join(confDir, file), 'utf8').replaceAll('@STATE@', stateDir);
}

/** Starts a detached process writing to `logFile`, records its pid, returns it. */
function startDetached(
  command: string,
  args: string[],
  options: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): number {
  const fd = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  writeFileSync(options.pidFile, String(child.pid));
  return child.pid;
}

function javaHome(): string {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const java = execFileSync('readlink', ['-f', execFileSync('which', ['java'], { encoding: 'utf8' }).trim()], { encoding: 'utf8' }).trim();
  return resolve(dirname(java), '..');
}

function javaMajor(home: string): number {
  const { stderr } = spawnSync(join(home, 'bin', 'java'), ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)/.exec(stderr);
  return match ? Number(match[1]) : 0;
}

async function startKafka(stateDir: string, log: (line: string) => void): Promise<void> {
  const dir = join(stateDir, 'kafka');
  const lib = join(dir, 'lib');
  await fetchWithMaven('kafka', 'kafka.pom.xml', lib, log);
  for (const sub of ['data', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const properties = join(dir, 'server.properties');
  writeFileSync(properties, template('kafka-server.properties', dir));
  const classpath = `${lib}/*`;
  const jvm = [
    '-Xms384m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    `-Dlog4j2.configurationFile=${join(confDir, 'kafka-log4j2.properties')}`,
  ];
  if (!existsSync(join(dir, 'data', 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    log(`kafka: formatting KRaft storage (cluster ${clusterId})`);
    await run(
      'java',
      [...jvm, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties, '--ignore-formatted'],
      join(dir, 'logs', 'format.log'),
    );
  }
  const pid = startDetached('java', [...jvm, '-cp', classpath, 'kafka.Kafka', properties], {
    logFile: join(dir, 'logs', 'stdout.log'),
    pidFile: pidFile(stateDir, 'kafka'),
  });
  log(`kafka: started (pid ${pid}, log ${join(dir, 'logs', 'server.log')})`);
}

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
  '--add-exports',
  'java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports',
  'java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports',
  'java.sql/java.sql=ALL-UNNAMED',
  '--add-exports',
  'java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports',
  'jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-exports',
  'jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports',
  'jdk.attach/sun.tools.attach=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens',
  'jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens',
  'java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.io=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens',
  'jdk.compiler/com.sun.tools.javac=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

async function startCassandra(stateDir: string, log: (line: string) => void): Promise<void> {
  const dir = join(stateDir, 'cassandra');
  const lib = join(dir, 'lib');
  await fetchWithMaven('cassandra', 'cassandra.pom.xml', lib, log);
  const major = javaMajor(javaHome());
  if (major !== 17)
    throw new Error(`cassandra: needs Java 17 exactly (no released Cassandra runs on 18+), found Java ${major}; set JAVA_HOME`);
  for (const sub of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw', 'logs', 'conf'])
    mkdirSync(join(dir, sub), { recursive: true });
  const yaml = join(dir, 'conf', 'cassandra.yaml');
  writeFileSync(yaml, template('cassandra.yaml', dir));
  const jamm = readdirSync(lib).find((f) => f.startsWith('jamm-') && f.endsWith('.jar'));
  if (!jamm) throw new Error(`cassandra: no jamm jar in ${lib}`);
  const args = [
    '-Xms1g',
    '-Xmx1g',
    '-XX:MaxDirectMemorySize=512m',
    '-Xss512k',
    ...CASSANDRA_JVM17,
    `-javaagent:${join(lib, jamm)}`,
    `-Dcassandra.config=file://${yaml}`,
    `-Dcassandra.storagedir=${dir}`,
    `-Dcassandra.logdir=${join(dir, 'logs')}`,
    `-Dlogback.configurationFile=${join(confDir, 'cassandra-logback.xml')}`,
    '-Dcassandra-foreground=yes',
    '-Dcassandra.jmx.local.port=7199',
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.ring_delay_ms=1000',
    '-Dcassandra.superuser_setup_delay_ms=0',
    '-cp',
    `${join(dir, 'conf')}:${lib}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  const pid = startDetached('java', args, { logFile: join(dir, 'logs', 'stdout.log'), pidFile: pidFile(stateDir, 'cassandra') });
  log(`cassandra: started (pid ${pid}, log ${join(dir, 'logs', 'system.log')})`);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** As root, Elasticsearch runs as an unprivileged user that owns its folder (it refuses root). */
function ensureEsUser(dir: string): void {
  try {
    execFileSync('id', ['-u', ES_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_USER], { stdio: 'ignore' });
  }
  execFileSync('chown', ['-R', `${ES_USER}:${ES_USER}`, `${dir}/`]);
  try {
    execFileSync(
      'setpriv',
      ['--reuid', ES_USER, '--regid', ES_USER, '--clear-groups', 'test', '-x', join(dir, 'dist', 'bin', 'elasticsearch')],
      { stdio: 'ignore' },
    );
  } catch {
    throw new Error(
      `elasticsearch: user ${ES_USER} cannot reach ${dir}; a parent folder is not traversable by other users (chmod o+x it, or set CLICKSTREAM_STACK_DIR to a folder under /var/tmp)`,
    );
  }
}

/** True when every folder from `/` down to `path` lets other users through (mode o+x). */
function traversableByOthers(path: string): boolean {
  for (let current = resolve(path); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * Elasticsearch's folder. As root, its unprivileged user must reach it; when the checkout lies
 * under a private folder (such as /root), the folder goes under /var/tmp behind a symlink.
 */
function elasticsearchDir(stateDir: string, log: (line: string) => void): string {
  const dir = join(stateDir, 'elasticsearch');
  if (!isRoot() || traversableByOthers(stateDir) || existsSync(dir)) return dir;
  const outside = join(
    '/var/tmp',
    `clickstream-stack-${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`,
    'elasticsearch',
  );
  mkdirSync(outside, { recursive: true });
  symlinkSync(outside, dir);
  log(`elasticsearch: ${stateDir} is private to root, so its folder is ${outside} (linked from ${dir})`);
  return dir;
}

async function startElasticsearch(stateDir: string, log: (line: string) => void): Promise<void> {
  const dir = elasticsearchDir(stateDir, log);
  const downloads = join(dir, 'download');
  await fetchWithMaven('elasticsearch', 'elasticsearch.pom.xml', downloads, log);
  const dist = join(dir, 'dist');
  if (!existsSync(join(dist, 'bin', 'elasticsearch'))) {
    const zip = readdirSync(downloads).find((f) => f.endsWith('.zip'));
    if (!zip) throw new Error(`elasticsearch: no zip in ${downloads}`);
    log(`elasticsearch: unpacking ${zip}`);
    const tmp = join(dir, 'unpack');
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('unzip', ['-q', join(downloads, zip), '-d', tmp]);
    const [top] = readdirSync(tmp);
    if (!top) throw new Error('elasticsearch: empty zip');
    rmSync(dist, { recursive: true, force: true });
    execFileSync('mv', [join(tmp, top), dist]);
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const sub of ['data', 'logs', 'config']) mkdirSync(join(dir, sub), { recursive: true });
  // Our own config folder: the distribution's files, with our elasticsearch.yml and a small heap.
  execFileSync('cp', ['-r', `${join(dist, 'config')}/.`, join(dir, 'config')]);
  writeFileSync(join(dir, 'config', 'elasticsearch.yml'), template('elasticsearch.yml', dir));
  mkdirSync(join(dir, 'config', 'jvm.options.d'), { recursive: true });
  writeFileSync(join(dir, 'config', 'jvm.options.d', 'heap.options'), '-Xms768m\n-Xmx768m\n');
  const env = { ES_JAVA_HOME: javaHome(), ES_PATH_CONF: join(dir, 'config'), ES_JAVA_OPTS: '' };
  const esPid = pidFile(stateDir, 'elasticsearch');
  rmSync(esPid, { force: true });
  const launcher = [join(dist, 'bin', 'elasticsearch'), '-d', '-p', esPid];
  let command = launcher[0] ?? '';
  let args = launcher.slice(1);
  if (isRoot()) {
    ensureEsUser(dir);
    command = 'setpriv';
    args = ['--reuid', ES_USER, '--regid', ES_USER, '--clear-groups', '--', ...launcher];
  }
  log('elasticsearch: starting (the launcher returns once the node is up)');
  // `-d` daemonises the node and writes its pid file; the launcher exits once the node started.
  await new Promise<void>((resolvePromise, reject) => {
    const fd = openSync(join(dir, 'logs', 'launcher.log'), 'a');
    const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`elasticsearch launcher exited with ${code}; see ${join(dir, 'logs')}`)),
    );
  });
  log(`elasticsearch: started (pid ${livePid(stateDir, 'elasticsearch') ?? '?'}, log ${join(dir, 'logs', 'clickstream-local.log')})`);
}

const starters: Record<ServerName, (stateDir: string, log: (line: string) => void) => Promise<void>> = {
  kafka: startKafka,
  cassandra: startCassandra,
  elasticsearch: startElasticsearch,
};

async function waitUntilAnswering(name: ServerName, stateDir: string, log: (line: string) => void): Promise<string> {
  const deadline = Date.now() + startTimeoutMs[name];
  let lastLog = Date.now();
  for (;;) {
    const state = await answers(name);
    if (state.ok) return state.detail;
    if (livePid(stateDir, name) === null && name !== 'elasticsearch') {
      throw new Error(`${name}: the process exited before answering; read ${join(stateDir, name, 'logs')}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${name}: not answering on ${addresses[name]} after ${startTimeoutMs[name] / 1000} s (${state.detail}); read ${join(stateDir, name, 'logs')}`,
      );
    }
    if (Date.now() - lastLog > 15_000) {
      log(`${name}: waiting to answer on ${addresses[name]}...`);
      lastLog = Date.now();
    }
    await sleep(1_000);
  }
}

/**
 * Brings the three servers up; idempotent. A server that already answers (started earlier, or by
 * someone else such as docker compose) is left alone. Resolves with the servers this call started,
 * once every server answers; rejects naming the server, the timeout and the log folder.
 */
export async function stackUp(options: StackOptions): Promise<ServerName[]> {
  const stateDir = stateDirOf(options);
  mkdirSync(stateDir, { recursive: true });
  const { log } = options;
  const started: ServerName[] = [];
  const results = await Promise.allSettled(
    SERVER_NAMES.map(async (name) => {
      const state = await answers(name);
      if (state.ok) {
        log(`${name}: already answering on ${addresses[name]} (${state.detail})`);
        return;
      }
      if (livePid(stateDir, name) === null) {
        mkdirSync(join(stateDir, name, 'logs'), { recursive: true });
        await starters[name](stateDir, log);
        started.push(name);
      } else {
        log(`${name}: process running, waiting for it to answer`);
      }
      const detail = await waitUntilAnswering(name, stateDir, log);
      log(`${name}: ready on ${addresses[name]} (${detail})`);
    }),
  );
  const failures = results.flatMap((r) =>
    r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
  );
  if (failures.length > 0) throw new Error(`local stack did not come up:\n  ${failures.join('\n  ')}`);
  return started;
}

async function stopPid(pid: number, name: ServerName, log: (line: string) => void): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 45_000;
  while (alive() && Date.now() < deadline) await sleep(250);
  if (alive()) {
    log(`${name}: did not stop within 45 s of SIGTERM, killing`);
    process.kill(pid, 'SIGKILL');
    while (alive()) await sleep(100);
  }
}

/** Stops the servers this stack started (all, or `only` those), waiting until each process is gone. */
export async function stackDown(options: StackOptions & { only?: readonly ServerName[] }): Promise<void> {
  const stateDir = stateDirOf(options);
  await Promise.all(
    (options.only ?? SERVER_NAMES).map(async (name) => {
      const pid = livePid(stateDir, name);
      if (pid === null) {
        options.log(`${name}: not running from this stack`);
        return;
      }
      options.log(`${name}: stopping pid ${pid}`);
      await stopPid(pid, name, options.log);
      rmSync(pidFile(stateDir, name), { force: true });
      options.log(`${name}: stopped`);
    }),
  );
}
