/**
 * Offline checks of the deployment files, no Docker or cluster needed: docker-compose.yml against
 * the Compose Specification schema, deploy/*.yaml against the Kubernetes API schemas
 * (kubernetes-models), every environment variable they set against the receiving service's own
 * zod config schema, and the probe, port, shutdown and replica settings against what the
 * services do (ports 8081/8082, /healthz and /readyz, stopping within 25 s of SIGTERM).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { IService } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { aggregatorConfigSchema, aggregatorEnvShape } from '../../services/aggregator/src/config.ts';
import { AGGREGATOR_NODE_OPTIONS } from '../../services/aggregator/src/node-flags.ts';
import { DASHBOARD_NODE_OPTIONS } from '../../services/dashboard/src/node-flags.ts';
import { dashboardConfigSchema, dashboardEnvShape } from '../../services/dashboard/src/config.ts';
import { ingestConfigSchema, ingestEnvShape } from '../../services/ingest/src/config.ts';
import { INGEST_NODE_OPTIONS } from '../../services/ingest/src/node-flags.ts';
import { producerConfigSchema, producerEnvShape } from '../../services/producer/src/config.ts';

const root = join(import.meta.dirname, '..', '..');
const readText = (path: string): string => readFileSync(join(root, path), 'utf8');

const NAMESPACE = 'clickstream';
/** The services stop within this long after SIGTERM (interface contract). */
const SHUTDOWN_S = 25;
const SERVERS = ['kafka', 'cassandra', 'elasticsearch'] as const;

type Env = Record<string, string>;
type ParseResult = { success: true } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
interface ServiceContract {
  readonly port: number | undefined;
  /** npm script of the interface spec that runs the service. */
  readonly script: string;
  readonly variables: readonly string[];
  parse(env: Env): ParseResult;
}

const contracts: Record<string, ServiceContract> = {
  ingest: { port: 8081, script: 'ingest', variables: Object.keys(ingestEnvShape), parse: (env) => ingestConfigSchema.safeParse(env) },
  aggregator: {
    port: 8082,
    script: 'aggregator',
    variables: Object.keys(aggregatorEnvShape),
    parse: (env) => aggregatorConfigSchema.safeParse(env),
  },
  dashboard: {
    port: 8083,
    script: 'dashboard',
    variables: Object.keys(dashboardEnvShape),
    parse: (env) => dashboardConfigSchema.safeParse(env),
  },
  producer: {
    port: undefined,
    script: 'produce',
    variables: Object.keys(producerEnvShape),
    parse: (env) => producerConfigSchema.safeParse(env),
  },
};

function contractOf(service: string): ServiceContract {
  const contract = contracts[service];
  assert.ok(contract, `no config schema known for service "${service}"`);
  return contract;
}

/** Asserts every variable is one the service reads and the whole set parses with its schema. */
function assertEnvAccepted(service: string, env: Env, where: string): void {
  const contract = contractOf(service);
  const unknown = Object.keys(env).filter((name) => !contract.variables.includes(name));
  assert.deepEqual(unknown, [], `${where}: ${service} does not read ${unknown.join(', ')}`);
  const result = contract.parse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    assert.fail(`${where}: ${service} rejects its configuration: ${problems}`);
  }
}

/** The command line of an npm script, as an exec-form argument list. */
function scriptArgs(script: string): string[] {
  const pkg = JSON.parse(readText('package.json')) as { scripts: Record<string, string> };
  const line = pkg.scripts[script];
  assert.ok(line, `package.json has no "${script}" script`);
  // Outside npm (an image, a manifest) the Node 24 launcher is not needed: the image's node is 24.
  return line.split(/\s+/).filter((arg) => arg !== 'scripts/node24.mjs');
}

describe('npm scripts', () => {
  it('start ingest, the aggregator and the dashboard with the V8 heap flags their measurements chose (compose, Kubernetes and the image run the scripts)', () => {
    for (const [script, flags] of [
      ['ingest', INGEST_NODE_OPTIONS],
      ['aggregator', AGGREGATOR_NODE_OPTIONS],
      ['dashboard', DASHBOARD_NODE_OPTIONS],
    ] as const) {
      const expected = flags.split(' ');
      assert.ok(
        expected.every((flag) => /^--[a-z-]+=\d+$/.test(flag)),
        `${script}: ${flags}`,
      );
      const args = scriptArgs(script);
      assert.equal(args.at(-1), `services/${script}/src/main.ts`);
      for (const flag of expected) assert.ok(args.includes(flag), `npm run ${script} has ${flag}`);
    }
  });
});

// --- docker-compose.yml -----------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  profiles?: string[];
  ports?: (string | { target: number; published?: string | number })[];
  volumes?: (string | { source?: string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = readText('docker-compose.yml');
const compose = parse(composeText) as ComposeFile;

function composeService(name: string): ComposeService {
  const service = compose.services[name];
  assert.ok(service, `docker-compose.yml has no service "${name}"`);
  return service;
}

function composeEnv(service: ComposeService): Env {
  const environment = service.environment ?? {};
  const entries = Array.isArray(environment)
    ? environment.map((line): [string, string] => [line.split('=')[0] ?? '', line.slice(line.indexOf('=') + 1)])
    : Object.entries(environment).map(([name, value]): [string, string] => [name, value === null ? '' : String(value)]);
  for (const [name, value] of entries) assert.ok(!value.includes('$'), `${name}: interpolated values are not checked; set a literal`);
  return Object.fromEntries(entries);
}

/** Seconds of a compose duration such as `30s` or `1m30s`. */
function durationSeconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000_001 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === duration, `not a compose duration: ${duration}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] ?? ''] ?? Number.NaN), 0);
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification JSON schema', () => {
    // dclint ships a copy of compose-spec/compose-spec's schema/compose-spec.json.
    const require = createRequire(import.meta.url);
    const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
    const { $schema: draft, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    // Ajv's default dialect is draft-07; it knows the meta-schema only under its http:// id.
    assert.match(String(draft), /draft-07/);
    // strictTypes off: the official schema leaves `type` implicit in places; unknown keywords still fail.
    const ajv = new Ajv({ allErrors: true, strictTypes: false });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    assert.ok(valid, `docker-compose.yml: ${ajv.errorsText(validate.errors, { separator: '\n' })}`);
  });

  it('defines the three servers, the two services, and the producer and kibana profiles', () => {
    const expectedImages: Record<string, RegExp> = {
      kafka: /^apache\/kafka:4\.1\.1$/,
      cassandra: /^cassandra:5\.0(\.\d+)?$/,
      elasticsearch: /^docker\.elastic\.co\/elasticsearch\/elasticsearch:8\.19\.7$/,
      kibana: /^docker\.elastic\.co\/kibana\/kibana:8\.19\.7$/,
    };
    for (const [name, image] of Object.entries(expectedImages)) assert.match(composeService(name).image ?? '', image, name);
    for (const name of ['ingest', 'aggregator', 'dashboard', 'producer'])
      assert.ok(composeService(name).build !== undefined, `${name} builds the image`);
    for (const name of [...SERVERS, 'ingest', 'aggregator', 'dashboard'])
      assert.equal(composeService(name).profiles, undefined, `${name} starts by default`);
    assert.deepEqual(composeService('producer').profiles, ['producer']);
    assert.deepEqual(composeService('kibana').profiles, ['kibana']);
  });

  it('publishes the local stack ports and keeps server data in named volumes', () => {
    const published = (name: string): string[] =>
      (composeService(name).ports ?? []).map((port) =>
        typeof port === 'string' ? port.split(':').slice(-2).join(':') : `${port.published}:${port.target}`,
      );
    // kafka's host listener is on container port 29092, advertised as localhost:9092.
    assert.ok(published('kafka').includes('9092:29092'), 'kafka on host port 9092');
    assert.ok(published('cassandra').includes('9042:9042'), 'cassandra on host port 9042');
    assert.ok(published('elasticsearch').includes('9200:9200'), 'elasticsearch on host port 9200');
    assert.ok(published('ingest').includes('8081:8081'), 'ingest on host port 8081');
    assert.ok(published('aggregator').includes('8082:8082'), 'aggregator on host port 8082');
    assert.ok(published('dashboard').includes('8083:8083'), 'dashboard on host port 8083');
    for (const server of SERVERS) {
      const volumes = (composeService(server).volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source));
      assert.ok(
        volumes.some((v) => v !== undefined && v in (compose.volumes ?? {})),
        `${server} keeps its data in a named volume`,
      );
    }
  });

  it('starts ingest and aggregator only once kafka, cassandra and elasticsearch are healthy', () => {
    for (const name of ['ingest', 'aggregator']) {
      const dependsOn = composeService(name).depends_on;
      assert.ok(dependsOn && !Array.isArray(dependsOn), `${name}: depends_on with conditions`);
      for (const server of SERVERS)
        assert.equal(dependsOn[server]?.condition, 'service_healthy', `${name} waits for ${server} to be healthy`);
    }
    for (const server of SERVERS) {
      const check = composeService(server).healthcheck;
      assert.ok(check?.test !== undefined && check.disable !== true, `${server} has a health check`);
    }
  });

  it('runs `npm run migrate` once before ingest and aggregator, which then skip start-up DDL', () => {
    const migrate = composeService('migrate');
    assert.deepEqual(migrate.command, scriptArgs('migrate'));
    const env = composeEnv(migrate);
    assertEnvAccepted('aggregator', Object.fromEntries(Object.entries(env).filter(([v]) => !v.startsWith('KAFKA_'))), 'compose migrate');
    assertEnvAccepted(
      'ingest',
      Object.fromEntries(Object.entries(env).filter(([v]) => !v.startsWith('ELASTICSEARCH_'))),
      'compose migrate',
    );
    for (const name of ['ingest', 'aggregator']) {
      const dependsOn = composeService(name).depends_on;
      assert.ok(dependsOn && !Array.isArray(dependsOn));
      assert.equal(dependsOn.migrate?.condition, 'service_completed_successfully', `${name} waits for migrate`);
      assert.equal(composeEnv(composeService(name)).MIGRATE_ON_START, 'false', `${name} runs without DDL`);
    }
  });

  it('sets only variables the services read, with values their config accepts', () => {
    for (const name of ['ingest', 'aggregator', 'dashboard', 'producer'])
      assertEnvAccepted(name, composeEnv(composeService(name)), `docker-compose.yml ${name}`);
  });

  it('runs the npm scripts of the interface, probes the HTTP port and waits out the shutdown', () => {
    for (const name of ['ingest', 'aggregator', 'dashboard', 'producer']) {
      const service = composeService(name);
      const contract = contractOf(name);
      const extra = name === 'producer' ? ['--count', '100000'] : [];
      assert.deepEqual(service.command, [...scriptArgs(contract.script), ...extra], `${name}: command`);
      if (contract.port === undefined) {
        assert.equal(service.healthcheck?.disable, true, `${name} has no HTTP port: its health check is disabled`);
        continue;
      }
      assert.equal(composeEnv(service).HTTP_PORT, String(contract.port), `${name}: HTTP_PORT`);
      const test = [service.healthcheck?.test ?? []].flat().join(' ');
      assert.ok(test.includes(`:${contract.port}/readyz`), `${name}: health check probes /readyz on ${contract.port}: ${test}`);
      assert.ok(
        service.stop_grace_period !== undefined && durationSeconds(service.stop_grace_period) > SHUTDOWN_S,
        `${name}: stop_grace_period > ${SHUTDOWN_S}s`,
      );
    }
  });
});

// --- deploy/*.yaml -----------------------------------------------------------------------------

interface Manifest {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly doc: Record<string, unknown>;
}

/** The model class of each kind the manifests may use; any other kind fails the test. */
const models: Record<string, (doc: Record<string, unknown>) => { validate(): void }> = {
  'v1/Namespace': (doc) => new Namespace(doc),
  'v1/ConfigMap': (doc) => new ConfigMap(doc),
  'v1/Secret': (doc) => new Secret(doc),
  'v1/Service': (doc) => new Service(doc),
  'apps/v1/Deployment': (doc) => new Deployment(doc),
  'policy/v1/PodDisruptionBudget': (doc) => new PodDisruptionBudget(doc),
  'batch/v1/Job': (doc) => new Job(doc),
};

function loadManifests(): Manifest[] {
  const files = readdirSync(join(root, 'deploy'))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort();
  assert.ok(files.length > 0, 'deploy/ has no manifests');
  return files.flatMap((file) =>
    parseAllDocuments(readText(join('deploy', file))).flatMap((document) => {
      assert.deepEqual(
        document.errors.map((e) => e.message),
        [],
        `deploy/${file} is not valid YAML`,
      );
      const doc: unknown = document.toJS();
      if (doc === null) return [];
      assert.ok(typeof doc === 'object' && !Array.isArray(doc), `deploy/${file}: a document is not an object`);
      const { apiVersion, kind, metadata } = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      assert.ok(typeof apiVersion === 'string' && typeof kind === 'string', `deploy/${file}: a document without apiVersion/kind`);
      const name = typeof metadata?.name === 'string' ? metadata.name : '';
      return [{ file: `deploy/${file}`, apiVersion, kind, name, doc: doc as Record<string, unknown> }];
    }),
  );
}

const manifests = loadManifests();
const ofKind = <T>(kind: string): T[] => manifests.filter((m) => m.kind === kind).map((m) => m.doc as T);
const deployments = ofKind<IDeployment>('Deployment');
const configMaps = new Map(ofKind<IConfigMap>('ConfigMap').map((c) => [c.metadata?.name ?? '', c]));
const secrets = new Map(ofKind<ISecret>('Secret').map((s) => [s.metadata?.name ?? '', s]));

function deployment(name: string): IDeployment {
  const found = deployments.find((d) => d.metadata?.name === name);
  assert.ok(found, `deploy/ has no Deployment "${name}"`);
  return found;
}

function mainContainer(dep: IDeployment): IContainer {
  const containers = dep.spec?.template.spec?.containers ?? [];
  assert.equal(containers.length, 1, `${dep.metadata?.name}: one container`);
  const [container] = containers;
  assert.ok(container);
  return container;
}

function secretValues(secret: ISecret): Env {
  const decoded = Object.entries(secret.data ?? {}).map(([k, v]): [string, string] => [k, Buffer.from(v, 'base64').toString('utf8')]);
  return { ...Object.fromEntries(decoded), ...secret.stringData };
}

/** The environment a Deployment's container receives: envFrom ConfigMaps and Secrets, then env. */
function podEnv(dep: IDeployment): { env: Env; configMaps: string[]; secrets: string[] } {
  const container = mainContainer(dep);
  const env: Env = {};
  const used = { configMaps: [] as string[], secrets: [] as string[] };
  for (const source of container.envFrom ?? []) {
    assert.equal(source.prefix, undefined, `${dep.metadata?.name}: envFrom prefixes would rename the variables`);
    if (source.configMapRef) {
      const configMap = configMaps.get(source.configMapRef.name ?? '');
      assert.ok(configMap, `${dep.metadata?.name}: ConfigMap "${source.configMapRef.name}" is not in deploy/`);
      Object.assign(env, configMap.data);
      used.configMaps.push(source.configMapRef.name ?? '');
    }
    if (source.secretRef) {
      const secret = secrets.get(source.secretRef.name ?? '');
      assert.ok(secret, `${dep.metadata?.name}: Secret "${source.secretRef.name}" is not in the template`);
      Object.assign(env, secretValues(secret));
      used.secrets.push(source.secretRef.name ?? '');
    }
  }
  for (const variable of container.env ?? []) {
    assert.ok(variable.value !== undefined, `${dep.metadata?.name}: ${variable.name} must be a literal to be checked`);
    env[variable.name] = variable.value;
  }
  return { env, ...used };
}

/** The container port a probe or Service port refers to, by number or by name. */
function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('deploy/ Kubernetes manifests', () => {
  it('every document validates against the Kubernetes schema of its kind', () => {
    for (const manifest of manifests) {
      const model = models[`${manifest.apiVersion}/${manifest.kind}`];
      assert.ok(model, `${manifest.file}: unexpected kind ${manifest.apiVersion} ${manifest.kind}`);
      assert.doesNotThrow(() => model(manifest.doc).validate(), `${manifest.file}: ${manifest.kind} ${manifest.name}`);
      const namespace = (manifest.doc.metadata as { namespace?: string } | undefined)?.namespace;
      if (manifest.kind === 'Namespace') assert.equal(manifest.name, NAMESPACE);
      else assert.equal(namespace, NAMESPACE, `${manifest.file}: ${manifest.kind} ${manifest.name} in namespace ${NAMESPACE}`);
    }
    for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Deployment', 'Service', 'PodDisruptionBudget']) {
      assert.ok(
        manifests.some((m) => m.kind === kind),
        `deploy/ has a ${kind}`,
      );
    }
    assert.deepEqual(deployments.map((d) => d.metadata?.name).sort(), ['aggregator', 'dashboard', 'ingest']);
  });

  it('every variable a pod receives is one its service reads, with a value its config accepts', () => {
    for (const dep of deployments) {
      const name = dep.metadata?.name ?? '';
      assertEnvAccepted(name, podEnv(dep).env, `deploy/ Deployment ${name}`);
      assert.deepEqual(mainContainer(dep).args, scriptArgs(contractOf(name).script), `${name}: runs the npm script's command`);
    }
  });

  it('every ConfigMap and Secret reaches a Deployment and holds only variables a service reads', () => {
    const receivers = new Map<string, string[]>();
    for (const dep of deployments) {
      const { configMaps: cms, secrets: ss } = podEnv(dep);
      for (const source of [...cms.map((n) => `ConfigMap ${n}`), ...ss.map((n) => `Secret ${n}`)]) {
        receivers.set(source, [...(receivers.get(source) ?? []), dep.metadata?.name ?? '']);
      }
    }
    const sources = [
      ...[...configMaps].map(([name, cm]): [string, Env] => [`ConfigMap ${name}`, cm.data ?? {}]),
      ...[...secrets].map(([name, secret]): [string, Env] => [`Secret ${name}`, secretValues(secret)]),
    ];
    for (const [source, values] of sources) {
      const services = receivers.get(source) ?? [];
      assert.ok(services.length > 0, `${source} is used by no Deployment`);
      for (const variable of Object.keys(values)) {
        // Each receiving service must read it (a shared source holds only common variables).
        const notReading = services.filter((service) => !contractOf(service).variables.includes(variable));
        assert.deepEqual(notReading, [], `${source}: ${variable} reaches ${notReading.join(', ')}, which does not read it`);
      }
    }
  });

  it('the Secret template carries the three credentials, as placeholders only', () => {
    const all = [...secrets.values()];
    const values: Env = Object.fromEntries(all.flatMap((secret) => Object.entries(secretValues(secret))));
    for (const key of ['KAFKA_SASL_PASSWORD', 'CASSANDRA_PASSWORD', 'ELASTICSEARCH_API_KEY']) {
      assert.equal(values[key], 'REPLACE_ME', `${key} is a REPLACE_ME placeholder`);
    }
    for (const secret of all) {
      assert.equal(secret.data, undefined, `${secret.metadata?.name}: stringData only, so placeholders stay readable`);
      assert.match(
        secret.metadata?.annotations?.['clickstream/template'] ?? '',
        /^true/,
        `${secret.metadata?.name} is marked as a template`,
      );
    }
    assert.match(readText('deploy/secrets.template.yaml'), /TEMPLATE - DO NOT APPLY AS IS/);
  });

  it("probes /readyz and /healthz on the service's HTTP port", () => {
    for (const dep of deployments) {
      const name = dep.metadata?.name ?? '';
      const port = contractOf(name).port;
      const container = mainContainer(dep);
      assert.equal(podEnv(dep).env.HTTP_PORT, String(port), `${name}: HTTP_PORT`);
      assert.ok(
        container.ports?.some((p) => p.containerPort === port),
        `${name}: declares container port ${port}`,
      );
      assert.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${name}: readiness on /readyz`);
      assert.equal(resolvePort(container, container.readinessProbe?.httpGet?.port), port, `${name}: readiness on ${port}`);
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${name}: liveness on /healthz`);
      assert.equal(resolvePort(container, container.livenessProbe?.httpGet?.port), port, `${name}: liveness on ${port}`);
    }
  });

  it('gives each pod longer than the 25 s shutdown (and its own shutdown timeout) before SIGKILL', () => {
    for (const dep of deployments) {
      const name = dep.metadata?.name ?? '';
      const grace = dep.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
      assert.ok(grace > SHUTDOWN_S, `${name}: terminationGracePeriodSeconds ${grace} > ${SHUTDOWN_S}`);
      const timeoutMs = Object.entries(podEnv(dep).env).find(([variable]) => variable.endsWith('_SHUTDOWN_TIMEOUT_MS'))?.[1];
      if (timeoutMs !== undefined)
        assert.ok(Number(timeoutMs) / 1000 < grace, `${name}: shutdown timeout ${timeoutMs} ms < grace ${grace} s`);
    }
  });

  it('runs no more ingest replicas than the topic has partitions, and the aggregator redundantly', () => {
    const ingest = deployment('ingest');
    const partitions = Number(podEnv(ingest).env.KAFKA_TOPIC_PARTITIONS);
    assert.ok(Number.isInteger(partitions) && partitions > 0, 'the ingest ConfigMap sets KAFKA_TOPIC_PARTITIONS');
    const replicas = ingest.spec?.replicas ?? 1;
    assert.ok(replicas <= partitions, `ingest replicas ${replicas} <= KAFKA_TOPIC_PARTITIONS ${partitions}`);
    assert.ok(replicas >= 2, `ingest replicas ${replicas}: more than one, so a pod loss only rebalances`);
    // Safe beyond one: each run takes a lease in Cassandra first.
    assert.ok((deployment('aggregator').spec?.replicas ?? 1) >= 2, 'aggregator replicas >= 2');
  });

  it('runs pods non-root, read-only, without capabilities, within resources', () => {
    for (const dep of deployments) {
      const name = dep.metadata?.name ?? '';
      const pod = dep.spec?.template.spec;
      const container = mainContainer(dep);
      const context = container.securityContext;
      assert.ok(pod?.securityContext?.runAsNonRoot === true || context?.runAsNonRoot === true, `${name}: runAsNonRoot`);
      assert.ok((pod?.securityContext?.runAsUser ?? context?.runAsUser ?? 0) > 0, `${name}: a numeric non-root user`);
      assert.equal(context?.readOnlyRootFilesystem, true, `${name}: readOnlyRootFilesystem`);
      assert.equal(context?.allowPrivilegeEscalation, false, `${name}: allowPrivilegeEscalation false`);
      assert.deepEqual(context?.capabilities?.drop, ['ALL'], `${name}: drops ALL capabilities`);
      for (const kind of ['requests', 'limits'] as const) {
        assert.ok(
          container.resources?.[kind]?.cpu !== undefined && container.resources[kind].memory !== undefined,
          `${name}: ${kind} cpu and memory`,
        );
      }
    }
  });

  it('Services expose the metrics port with prometheus annotations; selectors match the pods', () => {
    for (const dep of deployments) {
      const name = dep.metadata?.name ?? '';
      const port = contractOf(name).port;
      const labels = dep.spec?.template.metadata?.labels ?? {};
      const selects = (selector: Record<string, string> | undefined): boolean =>
        selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
      assert.ok(selects(dep.spec?.selector.matchLabels), `${name}: the Deployment selects its pods`);

      const service = ofKind<IService>('Service').find((s) => selects(s.spec?.selector));
      assert.ok(service, `${name}: a Service selects its pods`);
      const annotations = service.metadata?.annotations ?? {};
      assert.equal(annotations['prometheus.io/scrape'], 'true', `${name}: prometheus.io/scrape`);
      assert.equal(annotations['prometheus.io/port'], String(port), `${name}: prometheus.io/port`);
      assert.equal(annotations['prometheus.io/path'], '/metrics', `${name}: prometheus.io/path`);
      const servicePort = service.spec?.ports?.[0];
      assert.equal(resolvePort(mainContainer(dep), servicePort?.targetPort), port, `${name}: the Service targets port ${port}`);

      const budget = ofKind<IPodDisruptionBudget>('PodDisruptionBudget').find((b) => selects(b.spec?.selector?.matchLabels));
      assert.ok(budget, `${name}: a PodDisruptionBudget covers its pods`);
      const allowed = budget.spec?.maxUnavailable;
      assert.ok(allowed !== undefined && allowed !== 0 && allowed !== '0%', `${name}: the budget still lets nodes drain`);
    }
  });
});

// --- Dockerfile ----------------------------------------------------------------------------------

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readText('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const runtime = instructions.slice(instructions.findLastIndex((line) => line.startsWith('FROM ')));

  it('builds on Node 24 slim, installs production dependencies only, and ships only the runtime files', () => {
    assert.ok(instructions.includes('ARG NODE_IMAGE=node:24-bookworm-slim'), 'base image node:24-bookworm-slim');
    assert.ok(instructions.filter((line) => line.startsWith('FROM ${NODE_IMAGE}')).length === 2, 'two stages on the Node image');
    assert.ok(
      instructions.some((line) => line.startsWith('RUN npm ci --omit=dev --workspaces --include-workspace-root')),
      'npm ci --omit=dev',
    );
    const copied = runtime
      .filter((line) => line.startsWith('COPY '))
      .flatMap((line) =>
        line
          .split(/\s+/)
          .slice(1, -1)
          .filter((arg) => !arg.startsWith('--')),
      );
    assert.deepEqual(copied.sort(), [
      '/app/node_modules',
      '/app/package-lock.json',
      '/app/package.json',
      '/app/packages',
      '/app/scripts/migrate.ts',
      '/app/scripts/node24.mjs',
      '/app/services',
    ]);
    // `npm run aggregator -- --once` in a running container (README), the Job's `npm run migrate`:
    // every file the programs' npm scripts name is in the image.
    for (const script of ['ingest', 'aggregator', 'dashboard', 'produce', 'migrate']) {
      const pkg = JSON.parse(readText('package.json')) as { scripts: Record<string, string> };
      for (const file of (pkg.scripts[script] ?? '').split(/\s+/).filter((arg) => /\.(ts|mjs)$/.test(arg)))
        assert.ok(
          copied.some((path) => `/app/${file}` === path || `/app/${file}`.startsWith(`${path}/`)),
          `npm run ${script}: ${file} is copied into the image`,
        );
    }
    assert.ok(
      instructions.some((line) => line.startsWith('RUN npm ci') && line.includes('--omit=optional')),
      'no second Node: the per-platform Node packages are optional dependencies, omitted',
    );
  });

  it('runs as node under tini, with a /healthz health check and the services’ command', () => {
    assert.ok(runtime.includes('USER node'), 'USER node');
    assert.ok(runtime.includes('ENTRYPOINT ["tini", "--"]'), 'tini as PID 1');
    assert.ok(runtime.includes('STOPSIGNAL SIGTERM'), 'STOPSIGNAL SIGTERM');
    assert.ok(runtime.includes('EXPOSE 8081 8082 8083'), 'EXPOSE 8081 8082 8083 (ingest, aggregator, dashboard)');
    const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK '));
    assert.ok(healthcheck?.includes('fetch(') && healthcheck.includes('/healthz'), 'HEALTHCHECK fetches /healthz');
    const cmd = runtime.find((line) => line.startsWith('CMD '));
    assert.deepEqual(JSON.parse(cmd?.slice(4) ?? 'null'), scriptArgs('ingest'), 'CMD runs ingest like `npm run ingest`');
  });

  it('.dockerignore keeps dependencies, local state, VCS data and tests out of the context', () => {
    const ignored = readText('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['**/node_modules', '.stack', '.tools', '.git', 'test'])
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
  });
});

// --- schema management, kustomize, disruption budgets -----------------------------------------------

describe('deploy/ as a whole', () => {
  it('kustomization.yaml lists every manifest except the Secret template, so `kubectl apply -k deploy/` applies them', () => {
    const kustomization = parse(readText('deploy/kustomization.yaml')) as { apiVersion: string; kind: string; resources: string[] };
    assert.equal(kustomization.apiVersion, 'kustomize.config.k8s.io/v1beta1');
    assert.equal(kustomization.kind, 'Kustomization');
    const files = readdirSync(join(root, 'deploy'))
      .filter((f) => /\.ya?ml$/.test(f) && !['kustomization.yaml', 'secrets.template.yaml'].includes(f))
      .sort();
    assert.deepEqual([...kustomization.resources].sort(), files);
  });

  it('PodDisruptionBudgets let unready pods be evicted (a store outage must not block node drains)', () => {
    const budgets = ofKind<IPodDisruptionBudget>('PodDisruptionBudget');
    assert.ok(budgets.length >= 2);
    for (const budget of budgets) assert.equal(budget.spec?.unhealthyPodEvictionPolicy, 'AlwaysAllow', budget.metadata?.name);
  });

  it('a Job runs `npm run migrate` with the services’ configuration, and the services skip start-up DDL', () => {
    const jobs = ofKind<IJob>('Job');
    assert.equal(jobs.length, 1);
    const pod = jobs[0]?.spec?.template.spec;
    const container = pod?.containers[0];
    assert.deepEqual(container?.args, scriptArgs('migrate'));
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    const env: Env = {};
    for (const source of container?.envFrom ?? []) {
      const name = source.configMapRef?.name;
      if (name !== undefined) Object.assign(env, configMaps.get(name)?.data ?? {});
    }
    const unknown = Object.keys(env).filter(
      (v) => !contractOf('ingest').variables.includes(v) && !contractOf('aggregator').variables.includes(v),
    );
    assert.deepEqual(unknown, [], 'the Job gets only variables the services read');
    // Only services that can run DDL read the flag (the dashboard only reads Elasticsearch).
    const withDdl = deployments.filter((dep) => contractOf(dep.metadata?.name ?? '').variables.includes('MIGRATE_ON_START'));
    assert.ok(withDdl.length >= 2);
    for (const dep of withDdl) assert.equal(podEnv(dep).env.MIGRATE_ON_START, 'false', `${dep.metadata?.name} runs without DDL`);
  });
});
