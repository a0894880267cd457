// The deployment files parse and agree with the code: real commands, real RINGPOOL_* names, matching ports, probes on /healthz and /readyz.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENV } from '../../src/config/config.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCKER = join(ROOT, 'infra/docker');
const K8S = join(ROOT, 'infra/k8s');

/** The commands `ringpool` dispatches, read from main.ts (`case 'start':` …), plus `cluster` (src/cli/cluster.ts). */
const CLI_COMMANDS = new Set([...readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8').matchAll(/case '([a-z-]+)':/g)].map((m) => m[1] as string).concat('cluster'));
const NODE_ROLES = new Set(['start', 'scheduler', 'worker', 'api']);
/** Settings that are secrets: never a literal value in these files. */
const SECRET_ENV = ['RINGPOOL_CLUSTER_SECRET', 'RINGPOOL_API_TOKENS'];

function unknownRingpoolNames(names: Iterable<string>): string[] {
  return [...names].filter((n) => n.startsWith('RINGPOOL_') && !(n in ENV));
}

/** `${NAME}`, `${NAME:-x}`, `${NAME:?msg}` referenced in a text. */
function interpolated(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1] as string);
}

// ---- Docker ----------------------------------------------------------------------------------

type ComposeService = {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string } } };
};

const composeText = readFileSync(join(DOCKER, 'compose.yaml'), 'utf8');
// Compose resolves `<<` merge keys; so does the yaml package with merge: true.
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const services = Object.entries(compose.services);
const ringpoolServices = services.filter(([, s]) => s.build?.dockerfile === 'infra/docker/Dockerfile');
const serviceNamed = (name: string) => compose.services[name];

describe('infra/docker', () => {
  it('compose.yaml runs the cluster-up topology: Redis master + 2 replicas, 3 sentinels, 3 schedulers, workers, api', () => {
    const roles = ringpoolServices.map(([, s]) => s.command?.[0]);
    expect(roles.filter((r) => r === 'scheduler')).toHaveLength(3);
    expect(roles.filter((r) => r === 'worker')).toHaveLength(1);
    expect(serviceNamed('worker')?.deploy?.replicas).toBe(3);
    expect(roles.filter((r) => r === 'api')).toHaveLength(1);
    const redisCommands = services.filter(([, s]) => s.image?.includes('redis')).map(([, s]) => s.command?.join(' ') ?? '');
    expect(redisCommands.filter((c) => c.includes('--sentinel'))).toHaveLength(3);
    expect(redisCommands.filter((c) => c.includes('--replicaof redis-master 6379'))).toHaveLength(2);
    const master = serviceNamed('redis-master')?.command?.join(' ') ?? '';
    expect(master).toMatch(/--appendonly yes/);
    expect(master).toMatch(/--min-replicas-to-write 1 --min-replicas-max-lag 10/);
  });

  it('every ringpool service runs a real CLI command with only RINGPOOL_* names from config.ts', () => {
    expect(ringpoolServices.length).toBeGreaterThan(0);
    for (const [name, s] of ringpoolServices) {
      expect(CLI_COMMANDS, `${name}: ${s.command?.join(' ')}`).toContain(s.command?.[0]);
      expect(NODE_ROLES).toContain(s.command?.[0]);
      expect(unknownRingpoolNames(Object.keys(s.environment ?? {})), name).toEqual([]);
      expect(s.environment?.RINGPOOL_PORT, `${name} sets its port by variable (the health probe reads it)`).toMatch(/^\d+$/);
    }
    // Interpolated ${RINGPOOL_…} values are settings too; compose-only variables have other names.
    expect(unknownRingpoolNames(interpolated(composeText))).toEqual([]);
    const example = readFileSync(join(DOCKER, 'env.example'), 'utf8');
    expect(unknownRingpoolNames([...example.matchAll(/^#?\s*(RINGPOOL_[A-Z_]+)=/gm)].map((m) => m[1] as string))).toEqual([]);
  });

  it('schedulers name each other by service and port; every part finds Redis through the three sentinels', () => {
    const schedulers = ringpoolServices.filter(([, s]) => s.command?.[0] === 'scheduler');
    const ids = schedulers.map(([, s]) => s.environment?.RINGPOOL_SCHEDULER_ID);
    expect(new Set(ids).size).toBe(3);
    for (const [name, s] of schedulers) {
      const peers = (s.environment?.RINGPOOL_PEERS ?? '').split(',');
      expect(peers, name).toHaveLength(3);
      for (const peer of peers) {
        const m = /^([A-Za-z0-9_-]+)=http:\/\/([a-z0-9-]+):(\d+)$/.exec(peer);
        expect(m, peer).not.toBeNull();
        const target = serviceNamed(m?.[2] as string);
        expect(target?.environment?.RINGPOOL_SCHEDULER_ID, peer).toBe(m?.[1]);
        expect(target?.environment?.RINGPOOL_PORT, peer).toBe(m?.[3]);
      }
      expect(s.volumes?.some((v) => v.endsWith(`:${s.environment?.RINGPOOL_DATA_DIR}`)), `${name} keeps its Raft data dir in a volume`).toBe(true);
    }
    for (const [name, s] of ringpoolServices) {
      const sentinels = (s.environment?.RINGPOOL_SENTINELS ?? '').split(',');
      expect(sentinels, name).toHaveLength(3);
      for (const addr of sentinels) {
        const [host, port] = addr.split(':');
        const sentinel = serviceNamed(host as string);
        expect(sentinel?.command?.join(' '), addr).toContain(`'port ${port}'`);
        expect(sentinel?.command?.join(' '), addr).toContain(`sentinel monitor ${s.environment?.RINGPOOL_SENTINEL_NAME} redis-master 6379 2`);
        expect(sentinel?.healthcheck?.test).toEqual(['CMD', 'redis-cli', '-p', port, 'ping']);
      }
    }
  });

  it('the API port published is the one it listens on; the Redis AOF and Raft data are named volumes', () => {
    const api = ringpoolServices.find(([, s]) => s.command?.[0] === 'api')?.[1];
    expect(api?.ports?.[0]).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\$\\{API_PUBLISH_PORT:-\\d+\\}:${api?.environment?.RINGPOOL_PORT}$`));
    for (const [name, s] of services) {
      for (const v of s.volumes ?? []) expect(Object.keys(compose.volumes), `${name}: ${v}`).toContain(v.split(':')[0]);
    }
    for (const name of ['redis-master', 'redis-replica-1', 'redis-replica-2']) expect(serviceNamed(name)?.volumes).toEqual([`${name}-data:/data`]);
  });

  it('health checks: ringpool services on /readyz through the probe script, Redis and Sentinel by PING', () => {
    for (const [name, s] of ringpoolServices) {
      expect(s.healthcheck?.test, name).toEqual(['CMD', 'node', 'infra/docker/healthcheck.mjs', '/readyz']);
      expect(Object.values(s.depends_on ?? {}).every((d) => d.condition === 'service_healthy'), name).toBe(true);
    }
    for (const [name, s] of services.filter(([, s]) => s.image?.includes('redis'))) expect(s.healthcheck?.test.slice(0, 2), name).toEqual(['CMD', 'redis-cli']);
    expect(existsSync(join(DOCKER, 'healthcheck.mjs'))).toBe(true);
  });

  it('secrets come from the environment, never from the file', () => {
    for (const [name, s] of ringpoolServices) {
      for (const key of SECRET_ENV) {
        const value = s.environment?.[key];
        if (value !== undefined) expect(value, `${name} ${key}`).toMatch(new RegExp(`^\\$\\{${key}:[-?]`));
      }
    }
    expect(readFileSync(join(DOCKER, 'env.example'), 'utf8')).toMatch(/^RINGPOOL_CLUSTER_SECRET=$/m);
  });

  it('the Dockerfile: node:20-slim stages, npm ci then npm ci --omit=dev, non-root, ENTRYPOINT ringpool, HEALTHCHECK on /healthz', () => {
    const text = readFileSync(join(DOCKER, 'Dockerfile'), 'utf8');
    const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toContain('ARG NODE_IMAGE=node:20-slim');
    const stages = lines.filter((l) => l.startsWith('FROM '));
    expect(stages).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS runtime']);
    const runtimeAt = lines.indexOf('FROM ${NODE_IMAGE} AS runtime');
    const build = lines.slice(0, runtimeAt);
    const runtime = lines.slice(runtimeAt);
    expect(build.some((l) => /^RUN npm ci\b(?!.*--omit)/.test(l))).toBe(true);
    expect(runtime.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime.filter((l) => l.startsWith('USER ')).at(-1)).toBe('USER node');
    expect(lines.at(-2)).toBe('ENTRYPOINT ["node", "bin/ringpool.mjs"]');
    expect(JSON.parse(lines.at(-1)?.replace(/^CMD /, '') ?? '')[0]).toSatisfy((c: string) => CLI_COMMANDS.has(c));
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "infra\/docker\/healthcheck\.mjs", "\/healthz"\]$/);
    // Every COPY source from the context exists, and the ignore file does not hide it.
    const ignore = readFileSync(join(DOCKER, 'Dockerfile.dockerignore'), 'utf8');
    for (const l of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      for (const src of l.split(/\s+/).slice(1, -1)) {
        expect(existsSync(join(ROOT, src)), src).toBe(true);
        const top = src.split('/')[0] as string;
        if (new RegExp(`^${top}/?$`, 'm').test(ignore)) expect(ignore, `${src} is excluded from the build context`).toMatch(new RegExp(`^!${src.replace(/\./g, '\\.')}$`, 'm'));
      }
    }
  });
});

// ---- Kubernetes -------------------------------------------------------------------------------

type Container = {
  name: string;
  args?: string[];
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, string>> }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
};
type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: any;
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

/** Helm values, not manifests. */
const HELM_VALUES = new Set([join(K8S, 'redis/values.yaml')]);
/** Alternative autoscalers of the worker Deployment, each its own kustomization (one applied, not both). */
const AUTOSCALING = join(K8S, 'autoscaling');
const k8sFiles = yamlFiles(K8S).filter((f) => !HELM_VALUES.has(f) && !f.endsWith('kustomization.yaml') && !f.startsWith(AUTOSCALING));
const docs: Array<{ file: string; doc: Doc }> = k8sFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${relative(ROOT, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file: relative(ROOT, file), doc: d.toJS() as Doc };
  }),
);
const workloads = docs.filter(({ doc }) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet');
const containersOf = (doc: Doc): Container[] => doc.spec.template.spec.containers as Container[];
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const byKindName = (kind: string, name: string) => docs.find(({ doc }) => doc.kind === kind && doc.metadata.name === name)?.doc;

describe('infra/k8s', () => {
  it('every file parses; kustomization lists exactly the manifests', () => {
    expect(docs.length).toBeGreaterThan(0);
    for (const { doc, file } of docs) expect(doc.apiVersion && doc.kind && doc.metadata?.name, file).toBeTruthy();
    const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.map((r) => join(K8S, r)).sort()).toEqual([...k8sFiles].sort());
    expect(parse(readFileSync(join(K8S, 'redis/values.yaml'), 'utf8'))).toMatchObject({ architecture: 'replication', sentinel: { enabled: true, masterSet: 'ringpool' } });
  });

  it('every container runs a real CLI command and sets only RINGPOOL_* names from config.ts', () => {
    expect(workloads.map(({ doc }) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual(['Deployment/ringpool-api', 'Deployment/ringpool-worker', 'StatefulSet/ringpool-scheduler']);
    for (const { doc } of workloads) {
      for (const c of containersOf(doc)) {
        expect(c.command, `${doc.metadata.name}: the image's ENTRYPOINT runs ringpool`).toBeUndefined();
        expect(CLI_COMMANDS).toContain(c.args?.[0]);
        expect(NODE_ROLES).toContain(c.args?.[0]);
        expect(unknownRingpoolNames((c.env ?? []).map((e) => e.name)), doc.metadata.name).toEqual([]);
      }
    }
  });

  it('ports match: the container port is RINGPOOL_PORT, probes use it, /readyz for readiness and /healthz for liveness', () => {
    for (const { doc } of workloads) {
      for (const c of containersOf(doc)) {
        const port = c.ports?.[0];
        expect(String(port?.containerPort), doc.metadata.name).toBe(envOf(c, 'RINGPOOL_PORT')?.value);
        expect(envOf(c, 'RINGPOOL_HOST')?.value, `${doc.metadata.name} must listen beyond loopback`).toBe('0.0.0.0');
        expect(c.readinessProbe?.httpGet?.path, doc.metadata.name).toBe('/readyz');
        expect(c.livenessProbe?.httpGet?.path, doc.metadata.name).toBe('/healthz');
        for (const probe of [c.readinessProbe, c.livenessProbe]) expect([port?.name, port?.containerPort]).toContain(probe?.httpGet?.port);
      }
    }
  });

  it('Services select pods that exist and target ports they have', () => {
    for (const { doc: svc } of docs.filter(({ doc }) => doc.kind === 'Service')) {
      const selected = workloads.filter(({ doc }) => Object.entries(svc.spec.selector as Record<string, string>).every(([k, v]) => doc.spec.template.metadata.labels[k] === v));
      expect(selected, svc.metadata.name).toHaveLength(1);
      const ports = containersOf((selected[0] as { doc: Doc }).doc).flatMap((c) => c.ports ?? []);
      for (const p of svc.spec.ports as Array<{ port: number; targetPort: string | number }>) expect(ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `${svc.metadata.name} → ${p.targetPort}`).toBe(true);
    }
    for (const { doc } of workloads) expect(doc.spec.selector.matchLabels).toEqual(expect.objectContaining(doc.spec.template.metadata.labels));
  });

  it('schedulers: a StatefulSet of 3, ids from the pod name (ordinal), peers by headless DNS, a PVC for the Raft data dir', () => {
    const sts = byKindName('StatefulSet', 'ringpool-scheduler') as Doc;
    const c = containersOf(sts)[0] as Container;
    expect(sts.spec.replicas).toBe(3);
    expect(envOf(c, 'RINGPOOL_SCHEDULER_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const headless = byKindName('Service', sts.spec.serviceName) as Doc;
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    const port = envOf(c, 'RINGPOOL_PORT')?.value;
    const expected = Array.from({ length: 3 }, (_, i) => `${sts.metadata.name}-${i}=http://${sts.metadata.name}-${i}.${sts.spec.serviceName}:${port}`);
    expect(envOf(c, 'RINGPOOL_PEERS')?.value?.split(',')).toEqual(expected);
    const claim = (sts.spec.volumeClaimTemplates as Array<{ metadata: { name: string } }>)[0]?.metadata.name;
    expect(c.volumeMounts?.find((m) => m.name === claim)?.mountPath).toBe(envOf(c, 'RINGPOOL_DATA_DIR')?.value);
  });

  it('workers: threads from the CPU limit of the worker container', () => {
    const deployment = byKindName('Deployment', 'ringpool-worker') as Doc;
    const c = containersOf(deployment)[0] as Container;
    expect(envOf(c, 'RINGPOOL_THREADS')?.valueFrom).toEqual({ resourceFieldRef: { containerName: c.name, resource: 'limits.cpu', divisor: '1' } });
    expect(c.resources?.limits?.cpu).toBeDefined();
    expect(c.resources?.requests?.cpu).toBe(c.resources?.limits?.cpu);
    expect(envOf(c, 'RINGPOOL_WORKER_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
  });

  it('secrets are Secret references, never values; every part finds Redis through the same sentinels', () => {
    expect(docs.filter(({ doc }) => doc.kind === 'Secret')).toEqual([]);
    const sentinels = new Set<string>();
    for (const { doc } of workloads) {
      for (const c of containersOf(doc)) {
        for (const key of SECRET_ENV) {
          const e = envOf(c, key);
          if (e !== undefined) {
            expect(e.value, `${doc.metadata.name} ${key}`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.name, `${doc.metadata.name} ${key}`).toBe('ringpool-secrets');
          }
        }
        sentinels.add(envOf(c, 'RINGPOOL_SENTINELS')?.value ?? '');
        expect(envOf(c, 'RINGPOOL_REDIS_URL')?.value).toBe('redis://:$(REDIS_PASSWORD)@ringpool-redis:6379');
        // $(REDIS_PASSWORD) is expanded only when defined earlier in the list.
        const env = (c.env ?? []).map((e) => e.name);
        expect(env.indexOf('REDIS_PASSWORD')).toBeLessThan(env.indexOf('RINGPOOL_REDIS_URL'));
      }
    }
    expect(containersOf(byKindName('Deployment', 'ringpool-api') as Doc)[0]?.env?.some((e) => e.name === 'RINGPOOL_API_TOKENS')).toBe(true);
    expect(containersOf(byKindName('StatefulSet', 'ringpool-scheduler') as Doc)[0]?.env?.some((e) => e.name === 'RINGPOOL_CLUSTER_SECRET')).toBe(true);
    expect([...sentinels]).toHaveLength(1);
    const values = parse(readFileSync(join(K8S, 'redis/values.yaml'), 'utf8')) as { fullnameOverride: string; sentinel: { masterSet: string } };
    for (const [i, addr] of [...sentinels][0]!.split(',').entries()) expect(addr).toBe(`${values.fullnameOverride}-node-${i}.${values.fullnameOverride}-headless:26379`);
  });
});

describe('infra/k8s/autoscaling', () => {
  const load = (dir: string) => {
    const kustomization = parse(readFileSync(join(AUTOSCALING, dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const files = yamlFiles(join(AUTOSCALING, dir)).filter((f) => !f.endsWith('kustomization.yaml'));
    expect(kustomization.resources.map((r) => join(AUTOSCALING, dir, r)).sort()).toEqual(files.sort());
    return files.flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as Doc));
  };
  /** The metric names /metrics serves (the API's registry, where the backlog gauges are set). */
  const served = async () => {
    const { Metrics } = await import('../../src/observability/metrics.js');
    return new Set((await new Metrics({ defaultMetrics: false }).registry.getMetricsAsJSON()).map((m) => m.name));
  };
  const worker = byKindName('Deployment', 'ringpool-worker') as Doc;

  it('KEDA: a ScaledObject of the worker Deployment from zero, on a Prometheus query of metrics /metrics serves', async () => {
    const [so] = load('keda');
    expect(so).toMatchObject({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', spec: { scaleTargetRef: { name: worker.metadata.name }, minReplicaCount: 0 } });
    const triggers = so!.spec.triggers as Array<{ type: string; metadata: { query: string; threshold: string; activationThreshold: string } }>;
    expect(triggers.map((t) => t.type)).toEqual(['prometheus']);
    const names = [...triggers[0]!.metadata.query.matchAll(/\bringpool_[a-z_]+/g)].map((m) => m[0]);
    expect(names).toContain('ringpool_desired_worker_nodes');
    const metrics = await served();
    for (const n of names) expect(metrics, n).toContain(n);
    expect(triggers[0]!.metadata.activationThreshold).toBe('0'); // any desired node wakes it from zero
  });

  it('HPA: the alternative scales the same Deployment on the same metric (external)', async () => {
    const [hpa] = load('hpa');
    expect(hpa).toMatchObject({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: { kind: 'Deployment', name: worker.metadata.name } } });
    const metrics = hpa!.spec.metrics as Array<{ type: string; external: { metric: { name: string } } }>;
    expect(metrics[0]?.type).toBe('External');
    expect(await served()).toContain(metrics[0]?.external.metric.name);
  });

  it('the scrape annotations point at the API pods, which serve the signal; the grace period of a worker pod covers its drain', () => {
    const api = byKindName('Deployment', 'ringpool-api') as Doc;
    const annotations = api.spec.template.metadata.annotations as Record<string, string>;
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(annotations['prometheus.io/port']).toBe(envOf(containersOf(api)[0] as Container, 'RINGPOOL_PORT')?.value);
    const drainMs = Number(envOf(containersOf(worker)[0] as Container, 'RINGPOOL_DRAIN_TIMEOUT_MS')?.value);
    expect(drainMs).toBeGreaterThan(0);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs);
  });
});
