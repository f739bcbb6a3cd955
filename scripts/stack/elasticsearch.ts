/**
 * Elasticsearch 8 for the local stack: one node on http://127.0.0.1:9200 (also beside a 3-node
 * cluster of the others). It refuses to run as root, so when root starts the stack it runs as the
 * unprivileged user `clickstack`, and its files are placed where that user can reach them.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createElasticsearchClient, pingElasticsearch } from '@clickstream/elasticsearch';
import { createLogger } from '@clickstream/observability';
import { fetchWithMaven, isRoot, javaHome, renderTemplate, runToCompletion } from './process.ts';
import type { Log } from './process.ts';
import { STACK_VERSIONS } from './topology.ts';
import type { StackNode, StackServer } from './topology.ts';

const quietLogger = createLogger({ service: 'stack', level: 'silent' });

/** The unprivileged user Elasticsearch runs as when the stack is started by root. */
export const ES_USER = 'clickstack';
const ADDRESS = 'http://127.0.0.1:9200';

/** True when every folder from `/` down to `path` lets other users through (mode o+x). */
export function traversableByOthers(path: string): boolean {
  for (let current = resolve(path); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * Elasticsearch's folder, `<stateDir>/elasticsearch`, made reachable by its unprivileged user.
 * When root runs the stack from a checkout under a private folder (such as /root, mode 0700), the
 * files go under `outsideRoot` (/var/tmp) in a folder named after the state folder's hash, and
 * `<stateDir>/elasticsearch` becomes a symbolic link to it (an existing folder is moved there);
 * the log says so. Otherwise the folder is used as it is. Idempotent.
 */
export function placeElasticsearchHome(stateDir: string, log: Log, options?: { asRoot?: boolean; outsideRoot?: string }): string {
  const dir = join(stateDir, 'elasticsearch');
  mkdirSync(stateDir, { recursive: true });
  const asRoot = options?.asRoot ?? isRoot();
  const isLink = existsSync(dir) && lstatSync(dir).isSymbolicLink();
  if (!asRoot || (!isLink && traversableByOthers(stateDir))) {
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const outside = isLink
    ? resolve(dirname(dir), readlinkSync(dir))
    : join(
        options?.outsideRoot ?? '/var/tmp',
        `clickstream-stack-${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`,
        'elasticsearch',
      );
  if (!traversableByOthers(dirname(outside)))
    throw new Error(
      `elasticsearch: ${dirname(outside)} is not reachable by other users either; set CLICKSTREAM_STACK_DIR to a folder they can reach`,
    );
  if (!isLink) {
    mkdirSync(dirname(outside), { recursive: true, mode: 0o755 });
    if (existsSync(dir) && !existsSync(outside)) execFileSync('mv', [dir, outside]);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, dir);
  } else {
    mkdirSync(outside, { recursive: true });
  }
  log(
    `elasticsearch: ${stateDir} is private (a parent folder is closed to other users), so its files are in ${outside}, linked from ${dir}, where the user ${ES_USER} can reach them`,
  );
  return dir;
}

/** As root: the unprivileged user exists, owns Elasticsearch's folder, and can reach its launcher. */
export function ensureElasticsearchUser(dir: string): void {
  if (spawnSync('id', ['-u', ES_USER], { stdio: 'ignore' }).status !== 0)
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_USER], { stdio: 'ignore' });
  execFileSync('chown', ['-R', `${ES_USER}:${ES_USER}`, `${dir}/`]);
  const reach = spawnSync(
    'setpriv',
    ['--reuid', ES_USER, '--regid', ES_USER, '--clear-groups', 'test', '-x', join(dir, 'dist', 'bin', 'elasticsearch')],
    {
      stdio: 'ignore',
    },
  );
  if (reach.status !== 0)
    throw new Error(
      `elasticsearch: user ${ES_USER} cannot reach ${dir}; a parent folder is not traversable by other users (chmod o+x it, or set CLICKSTREAM_STACK_DIR to a folder under /var/tmp)`,
    );
}

/** Unpacks the distribution zip into `dist` once. */
function unpack(downloads: string, dist: string, dir: string, log: Log): void {
  if (existsSync(join(dist, 'bin', 'elasticsearch'))) return;
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

/** The one Elasticsearch node, with its files under `stateDir` (or placed outside, see placeElasticsearchHome). */
export function elasticsearchServer(stateDir: string): StackServer {
  const link = join(stateDir, 'elasticsearch');
  const logsDir = join(link, 'logs');
  const node: StackNode = {
    name: 'elasticsearch',
    server: 'elasticsearch',
    address: ADDRESS,
    pidFile: join(link, 'elasticsearch.pid'),
    logsDir,
    startTimeoutMs: 240_000,
    async start(log: Log): Promise<void> {
      rmSync(this.pidFile, { force: true });
      // The real folder, not the link: the unprivileged user cannot pass through a private state folder.
      const home = realpathSync(link);
      const launcher = [join(home, 'dist', 'bin', 'elasticsearch'), '-d', '-p', join(home, 'elasticsearch.pid')];
      const [command, args] = isRoot()
        ? ['setpriv', ['--reuid', ES_USER, '--regid', ES_USER, '--clear-groups', '--', ...launcher]]
        : [launcher[0] ?? '', launcher.slice(1)];
      if (isRoot()) ensureElasticsearchUser(home);
      log('elasticsearch: starting (the launcher returns once the node is up)');
      // `-d` daemonises the node and writes its pid file; the launcher exits once the node started.
      await runToCompletion(command, args, {
        logFile: join(logsDir, 'launcher.log'),
        env: { ES_JAVA_HOME: javaHome(), ES_PATH_CONF: join(home, 'config'), ES_JAVA_OPTS: '' },
      });
      log(`elasticsearch: started (log ${join(logsDir, 'clickstream-local.log')})`);
    },
    async probe(): Promise<string> {
      const client = createElasticsearchClient({ url: ADDRESS, requestTimeoutMs: 5_000 }, quietLogger);
      try {
        const health = await pingElasticsearch(client);
        return `version ${health.version}, health ${health.status}`;
      } finally {
        await client.close();
      }
    },
  };
  return {
    server: 'elasticsearch',
    nodes: [node],
    sequential: false,
    async prepare(log: Log): Promise<void> {
      const dir = realpathSync(placeElasticsearchHome(stateDir, log));
      const downloads = join(dir, 'download');
      await fetchWithMaven('elasticsearch', STACK_VERSIONS.elasticsearch, 'elasticsearch.pom.xml', downloads, log);
      const dist = join(dir, 'dist');
      unpack(downloads, dist, dir, log);
      for (const sub of ['data', 'logs', 'config']) mkdirSync(join(dir, sub), { recursive: true });
      // Our own config folder: the distribution's files, with our elasticsearch.yml and a small heap.
      execFileSync('cp', ['-r', `${join(dist, 'config')}/.`, join(dir, 'config')]);
      writeFileSync(join(dir, 'config', 'elasticsearch.yml'), renderTemplate('elasticsearch.yml', { STATE: dir }));
      mkdirSync(join(dir, 'config', 'jvm.options.d'), { recursive: true });
      writeFileSync(join(dir, 'config', 'jvm.options.d', 'heap.options'), '-Xms768m\n-Xmx768m\n');
    },
  };
}
