import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type IDeployment, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { type IConfigMap, type IContainer, type IPodSpec, type ISecret, type IService } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import {
  ROOT,
  OVERLAYS,
  findObject,
  kustomizeBuild,
  readText,
  readYaml,
  type K8sObject,
  type Overlay,
} from './deploy-helpers.js';
import { fieldProblems, openApiProblems } from './k8s-schema.js';

/* Every overlay is built with kustomize v5 and each object checked against the Kubernetes
 * schema, then against the deployment policy of issue 9 and CONTRACT §4. */

/** The overlay's objects plus the optional Prometheus Operator component. */
function buildWithComponent(overlay: Overlay): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'bw-kustomize-'));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, join(ROOT, 'k8s/overlays', overlay))}`,
        'components:',
        `  - ${relative(dir, join(ROOT, 'k8s/components/prometheus-operator'))}`,
        '',
      ].join('\n'),
    );
    return kustomizeBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const built = new Map<Overlay, K8sObject[]>();
for (const overlay of OVERLAYS) built.set(overlay, kustomizeBuild(`k8s/overlays/${overlay}`));
const objectsOf = (overlay: Overlay): K8sObject[] => built.get(overlay)!;
const withComponent = buildWithComponent('production');
const componentObjects = withComponent.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'));
const secretTemplate = readYaml<K8sObject>('k8s/secret.template.yaml');
// Two broken copies: the negative controls of the strict field check.
const typo = structuredClone(objectsOf('production'));
const wrongType = structuredClone(objectsOf('production'));
// The strict field check of every object at once (one TypeScript program: the slow part).
const fields = fieldProblems({
  ...Object.fromEntries(built),
  component: componentObjects,
  template: [secretTemplate],
  typo: breakTypo(typo),
  wrongType: breakType(wrongType),
});

function podSpecOf(o: IDeployment | IStatefulSet): IPodSpec {
  return o.spec!.template.spec!;
}
function workloads(objects: K8sObject[]): (IDeployment | IStatefulSet)[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as unknown as (
    IDeployment | IStatefulSet
  )[];
}
function gatewayOf(objects: K8sObject[]): IDeployment {
  return findObject<IDeployment>(objects, 'Deployment', 'breakwater-gateway');
}
function gatewayContainer(objects: K8sObject[]): IContainer {
  return podSpecOf(gatewayOf(objects)).containers.find((c) => c.name === 'gateway')!;
}

function breakTypo(objects: K8sObject[]): K8sObject[] {
  const container = gatewayContainer(objects) as IContainer & Record<string, unknown>;
  container.livenesProbe = container.livenessProbe;
  return objects;
}

function breakType(objects: K8sObject[]): K8sObject[] {
  (podSpecOf(gatewayOf(objects)) as unknown as Record<string, unknown>).terminationGracePeriodSeconds = '40';
  return objects;
}

/** The gateway's environment as the pod sees it: the envFrom ConfigMaps, then env literals. */
function gatewayEnv(objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  const container = gatewayContainer(objects);
  for (const source of container.envFrom ?? []) {
    const map = findObject<IConfigMap>(objects, 'ConfigMap', source.configMapRef!.name!);
    Object.assign(env, map.data);
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function preStopSleepSeconds(container: IContainer): number {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  if (command[0] !== 'sleep' || !/^\d+$/.test(command[1] ?? '')) throw new Error('preStop is not `sleep <seconds>`');
  return Number(command[1]);
}

describe.each(OVERLAYS)('k8s overlay %s', (overlay) => {
  const objects = objectsOf(overlay);

  it('builds and every object is valid against the Kubernetes schema (OpenAPI and field names)', async () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(await openApiProblems(objects)).toEqual([]);
    expect(fields[overlay]).toEqual([]);
  });

  it('puts everything in the overlay namespace, which it creates', () => {
    const ns = findObject(objects, 'Namespace', objects.find((o) => o.kind === 'Namespace')!.metadata.name);
    expect(ns.metadata.name).toBe(parse(readText(`k8s/overlays/${overlay}/kustomization.yaml`)).namespace);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      expect([o.kind, o.metadata.namespace]).toEqual([o.kind, ns.metadata.name]);
  });

  it('gives every container probes, requests and limits, and a locked-down security context', () => {
    const found = workloads(objects);
    expect(found.length).toBeGreaterThanOrEqual(2);
    for (const workload of found) {
      const pod = podSpecOf(workload);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${workload.metadata!.name}/${c.name}`;
        expect([where, Boolean(c.livenessProbe), Boolean(c.readinessProbe)]).toEqual([where, true, true]);
        for (const kind of ['requests', 'limits'] as const) {
          expect([where, kind, Object.keys(c.resources?.[kind] ?? {}).sort()]).toEqual([
            where,
            kind,
            ['cpu', 'memory'],
          ]);
        }
        const sc = c.securityContext ?? {};
        expect([where, sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot]).toEqual([where, true]);
        expect([where, sc.readOnlyRootFilesystem, sc.allowPrivilegeEscalation, sc.capabilities?.drop]).toEqual([
          where,
          true,
          false,
          ['ALL'],
        ]);
        expect([where, (sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type]).toEqual([
          where,
          'RuntimeDefault',
        ]);
        const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
        expect([where, typeof uid === 'number' && uid > 0]).toEqual([where, true]);
        expect([where, /:[\w.-]+$/.test(c.image!) && !c.image!.endsWith(':latest')]).toEqual([where, true]);
      }
    }
  });

  it('runs the gateway with probes on the management port: /health/live (startup, liveness), /health/ready', () => {
    const env = gatewayEnv(objects);
    const c = gatewayContainer(objects);
    const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ http: Number(env.PORT), management: Number(env.MANAGEMENT_PORT) });
    expect(env.MANAGEMENT_PORT).not.toBe(env.PORT);
    for (const [probe, path] of [
      [c.startupProbe, '/health/live'],
      [c.livenessProbe, '/health/live'],
      [c.readinessProbe, '/health/ready'],
    ] as const) {
      expect(probe?.httpGet).toEqual({ path, port: 'management' });
    }
    const annotations = gatewayOf(objects).spec!.template.metadata!.annotations!;
    expect(annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': env.MANAGEMENT_PORT,
      'prometheus.io/path': '/metrics',
    });
  });

  it('gives the gateway time to drain: terminationGracePeriodSeconds >= preStop + SHUTDOWN_DRAIN_MS + 5 s', () => {
    const drainSeconds = Number(gatewayEnv(objects).SHUTDOWN_DRAIN_MS ?? '25000') / 1000;
    const grace = podSpecOf(gatewayOf(objects)).terminationGracePeriodSeconds!;
    const preStop = preStopSleepSeconds(gatewayContainer(objects));
    expect(preStop).toBeGreaterThan(0);
    expect(grace).toBeGreaterThanOrEqual(preStop + drainSeconds + 5);
  });

  it('rolls the gateway without losing capacity and spreads it over zones and nodes', () => {
    const d = gatewayOf(objects);
    expect(d.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    // The HPA owns the replica count (its minimum is 3); a fixed count would fight it on apply.
    expect(d.spec!.replicas).toBeUndefined();
    const keys = podSpecOf(d)
      .topologySpreadConstraints!.map((t) => t.topologyKey)
      .sort();
    expect(keys).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of podSpecOf(d).topologySpreadConstraints!)
      expect(t.labelSelector!.matchLabels).toEqual(d.spec!.selector.matchLabels);
  });

  it('scales the gateway 3–10 on CPU 70 % and memory 80 %, slowly down', () => {
    const hpa = findObject<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', 'breakwater-gateway');
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'breakwater-gateway' });
    expect([hpa.spec!.minReplicas, hpa.spec!.maxReplicas]).toEqual([3, 10]);
    const targets = Object.fromEntries(hpa.spec!.metrics!.map((m) => [m.resource!.name, m.resource!.target]));
    expect(targets).toEqual({
      cpu: { type: 'Utilization', averageUtilization: 70 },
      memory: { type: 'Utilization', averageUtilization: 80 },
    });
    expect(hpa.spec!.behavior!.scaleDown!.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
  });

  it('keeps at least 2 gateway pods through voluntary disruptions', () => {
    const pdb = findObject<IPodDisruptionBudget>(objects, 'PodDisruptionBudget', 'breakwater-gateway');
    expect(pdb.spec!.minAvailable).toBe(2);
    expect(pdb.spec!.selector!.matchLabels).toEqual(gatewayOf(objects).spec!.selector.matchLabels);
  });

  it('exposes only the proxy port in the gateway Service', () => {
    const svc = findObject<IService>(objects, 'Service', 'breakwater-gateway');
    expect(svc.spec!.ports!.map((p) => p.targetPort)).toEqual(['http']);
    expect(svc.spec!.selector).toEqual(gatewayOf(objects).spec!.selector.matchLabels);
    expect(svc.spec!.type ?? 'ClusterIP').toBe('ClusterIP');
  });

  it('mounts the routes ConfigMap and the API keys Secret as folders, at the paths the env names', () => {
    const env = gatewayEnv(objects);
    const c = gatewayContainer(objects);
    const pod = podSpecOf(gatewayOf(objects));
    for (const m of c.volumeMounts ?? []) expect([m.name, m.subPath]).toEqual([m.name, undefined]);
    const mountOf = (file: string) => {
      const m = c.volumeMounts!.find((v) => file.startsWith(`${v.mountPath}/`))!;
      return { volume: pod.volumes!.find((v) => v.name === m.name)!, key: file.slice(m.mountPath.length + 1) };
    };
    const routes = mountOf(env.GATEWAY_CONFIG!);
    const routesMap = findObject<IConfigMap>(objects, 'ConfigMap', routes.volume.configMap!.name!);
    // No hash suffix: the ConfigMap keeps its name, the kubelet swaps the folder, the gateway hot-reloads.
    expect(routesMap.metadata!.name).toBe('breakwater-routes');
    expect(Object.keys(routesMap.data!)).toContain(routes.key);
    const keys = mountOf(env.API_KEYS_FILE!);
    expect(keys.volume.secret!.items).toEqual([{ key: 'api-keys', path: keys.key }]);
    expect(env.DASHBOARD_ENABLED).toBe('true');
  });

  it(`sets DASHBOARD_DRILL=true ${overlay === 'demo' ? 'in the demo only' : 'never'}`, () => {
    const drill = gatewayEnv(objects).DASHBOARD_DRILL ?? 'false';
    expect(['true', '1'].includes(drill)).toBe(overlay === 'demo');
  });

  it('runs Redis as a StatefulSet with a 5Gi volume, AOF and the password from the Secret', () => {
    const redis = findObject<IStatefulSet>(objects, 'StatefulSet', 'breakwater-redis');
    expect(redis.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests).toEqual({ storage: '5Gi' });
    const c = podSpecOf(redis).containers[0]!;
    const args = c.args!.join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--requirepass $(REDIS_PASSWORD)');
    expect(c.env!.find((e) => e.name === 'REDIS_PASSWORD')!.valueFrom!.secretKeyRef!.key).toBe('redis-password');
  });

  it('lets only the gateway reach Redis and the upstreams, and only monitoring reach the management port', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as INetworkPolicy[];
    const deny = policies.find((p) => Object.keys(p.spec!.podSelector?.matchLabels ?? {}).length === 0)!;
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    const gatewayPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'breakwater-gateway' } } };
    const forPods = (name: string) =>
      policies.find((p) => p.spec!.podSelector?.matchLabels?.['app.kubernetes.io/name'] === name)!;
    expect(forPods('breakwater-redis').spec!.ingress).toEqual([
      { from: [gatewayPods], ports: [{ port: 'redis', protocol: 'TCP' }] },
    ]);
    expect(forPods('breakwater-gateway').spec!.ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }] },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ port: 'management', protocol: 'TCP' }],
      },
    ]);
    if (overlay === 'demo') {
      expect(forPods('flaky-upstream').spec!.ingress).toEqual([
        { from: [gatewayPods], ports: [{ port: 'http', protocol: 'TCP' }] },
      ]);
    }
  });

  it(`runs flaky-upstream ${overlay === 'demo' ? 'as two pods the routes file names' : 'nowhere'}`, () => {
    const flaky = objects.filter((o) => JSON.stringify(o).includes('flaky-upstream'));
    if (overlay !== 'demo') {
      expect(flaky).toEqual([]);
      return;
    }
    const sts = findObject<IStatefulSet>(objects, 'StatefulSet', 'flaky');
    expect(sts.spec!.replicas).toBe(2);
    const svc = findObject<IService>(objects, 'Service', 'flaky');
    const routes = parse(findObject<IConfigMap>(objects, 'ConfigMap', 'breakwater-routes').data!['gateway.yaml']!);
    expect(routes.services.flaky.instances).toEqual(
      [0, 1].map((i) => `http://flaky-${i}.flaky:${svc.spec!.ports![0]!.port}`),
    );
  });

  it('references only Secret keys that the Secret template (or the demo generator) provides', () => {
    const referenced = new Set<string>();
    for (const w of workloads(objects)) {
      const pod = podSpecOf(w);
      for (const c of pod.containers)
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) referenced.add(e.valueFrom.secretKeyRef.key);
      for (const v of pod.volumes ?? []) for (const item of v.secret?.items ?? []) referenced.add(item.key);
    }
    expect(referenced.size).toBeGreaterThan(0);
    const template = readYaml<ISecret>('k8s/secret.template.yaml');
    const provided =
      overlay === 'demo'
        ? Object.keys(findObject<ISecret>(objects, 'Secret', 'breakwater-secrets').data!)
        : Object.keys(template.stringData!);
    expect([...referenced].filter((k) => !provided.includes(k))).toEqual([]);
    if (overlay !== 'demo') expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('k8s extras', () => {
  it('the Secret template is a valid Secret whose keys the base uses', async () => {
    expect(await openApiProblems([secretTemplate])).toEqual([]);
    expect(fields.template).toEqual([]);
  });

  it('the Prometheus Operator component builds, validates, and holds the rules of deploy/prometheus/', async () => {
    const objects = withComponent;
    const added = componentObjects;
    expect(added.map((o) => o.kind).sort()).toEqual(['PodMonitor', 'PrometheusRule']);
    expect(await openApiProblems(added)).toEqual([]);
    expect(fields.component).toEqual([]);
    const monitor = added.find((o) => o.kind === 'PodMonitor') as unknown as {
      spec: {
        jobLabel: string;
        podMetricsEndpoints: { port: string }[];
        selector: { matchLabels: Record<string, string> };
      };
    };
    expect(monitor.spec.podMetricsEndpoints.map((e) => e.port)).toEqual(['management']);
    expect(monitor.spec.selector.matchLabels).toEqual(gatewayOf(objects).spec!.selector.matchLabels);
    // job="breakwater-gateway" as the alerts expect: the value of the pod label jobLabel names.
    expect(gatewayOf(objects).spec!.template.metadata!.labels![monitor.spec.jobLabel]).toBe('breakwater-gateway');
    const rule = added.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown[] } };
    const sources = ['recording.yml', 'alerts.yml'].flatMap(
      (f) => readYaml<{ groups: unknown[] }>(`deploy/prometheus/${f}`).groups,
    );
    // Out of date? node k8s/components/prometheus-operator/sync-rules.mjs
    expect(rule.spec.groups).toEqual(sources);
  });

  it('the strict field check catches a typo and a wrong type (it can fail)', () => {
    expect(fields.typo!.join('\n')).toMatch(/Deployment\/breakwater-gateway: .*livenesProbe/);
    expect(fields.wrongType!.join('\n')).toMatch(/Deployment\/breakwater-gateway: .*not assignable to type 'number'/);
  });
});
