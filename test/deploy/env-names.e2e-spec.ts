import { createHash } from 'node:crypto';
import { type IDeployment, type IStatefulSet } from 'kubernetes-models/apps/v1';
import { type IConfigMap, type IContainer, type ISecret } from 'kubernetes-models/v1';
import { ENV_VARIABLE_NAMES, loadEnv, parseApiKeysFile, parseEnvVariables, parseRoutes } from '@app/config';
import { ROOT, OVERLAYS, findObject, kustomizeBuild, readText, readYaml, type K8sObject } from './deploy-helpers.js';
import { composeEnvironment, interpolate, parseEnvFile, type ComposeFile } from './compose-model.js';

/* Every variable that the Compose files, .env.prod and the manifests set is one that
 * libs/config knows (and parses), and production sets the ones it cannot do without. */

const KNOWN = new Set<string>(ENV_VARIABLE_NAMES);
/** .env.prod's variables for Compose itself (interpolation), not for the gateway. */
const DEPLOY_VARIABLES = ['BREAKWATER_IMAGE', 'BREAKWATER_TAG', 'REDIS_PASSWORD'];
/** What a production gateway must be given explicitly. */
const PRODUCTION_REQUIRED = [
  'MANAGEMENT_PORT',
  'REDIS_URL',
  'API_KEYS_FILE',
  'ADMIN_API_KEY',
  'GATEWAY_CONFIG',
  'SHUTDOWN_DRAIN_MS',
  'TRUST_PROXY',
  'DASHBOARD_DRILL',
];
/** flaky-upstream's variables (CONTRACT §6). */
const FLAKY_VARIABLES = new Set([
  'PORT',
  'HOST',
  'INSTANCE_ID',
  'FLAKY_FAILURE_RATE',
  'FLAKY_DELAY_RATE',
  'FLAKY_DELAY_MS',
  'FLAKY_SEED',
]);

const dev = readYaml<ComposeFile>('docker-compose.yml');
const prodEnvFile = parseEnvFile(readText('.env.prod'));
const prod = interpolate(readYaml<ComposeFile>('docker-compose.prod.yml'), prodEnvFile) as ComposeFile;
const overlays = Object.fromEntries(OVERLAYS.map((o) => [o, kustomizeBuild(`k8s/overlays/${o}`)]));

interface Container {
  env: Record<string, string>;
  /** Variables whose value comes from a Secret (names only). */
  secretNames: string[];
}

function k8sContainer(objects: K8sObject[], workload: IDeployment | IStatefulSet, name: string): Container {
  const c = workload.spec!.template.spec!.containers.find((x: IContainer) => x.name === name)!;
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? [])
    Object.assign(env, findObject<IConfigMap>(objects, 'ConfigMap', from.configMapRef!.name!).data);
  const secretNames: string[] = [];
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) secretNames.push(e.name);
    else if (e.valueFrom?.fieldRef) env[e.name] = `<${e.valueFrom.fieldRef.fieldPath}>`;
  }
  return { env, secretNames };
}

/** Every gateway environment the deployment files define, by where it is defined. */
const gateways: Record<string, Container> = {
  'docker-compose.yml': { env: composeEnvironment(dev.services.gateway!, ROOT), secretNames: [] },
  'docker-compose.prod.yml': { env: composeEnvironment(prod.services.gateway!, ROOT), secretNames: [] },
  ...Object.fromEntries(
    OVERLAYS.map((o) => [
      `k8s/overlays/${o}`,
      k8sContainer(overlays[o]!, findObject<IDeployment>(overlays[o]!, 'Deployment', 'breakwater-gateway'), 'gateway'),
    ]),
  ),
};

/** The gateway's own variables of an environment (Compose's deployment variables left out). */
const gatewayNames = (where: string, c: Container) =>
  [...Object.keys(c.env), ...c.secretNames].filter(
    (n) => !(where === 'docker-compose.prod.yml' && DEPLOY_VARIABLES.includes(n)),
  );

describe('environment variables in the deployment files', () => {
  it('libs/config exports the names it knows', () => {
    expect(ENV_VARIABLE_NAMES.length).toBeGreaterThan(30);
    expect(ENV_VARIABLE_NAMES).toEqual(
      expect.arrayContaining(['PORT', 'MANAGEMENT_PORT', 'REDIS_URL', 'SHUTDOWN_DRAIN_MS', 'DASHBOARD_DRILL']),
    );
  });

  it.each(Object.keys(gateways))('%s sets only variables libs/config knows, with values it accepts', (where) => {
    const c = gateways[where]!;
    const names = gatewayNames(where, c);
    expect(names.length).toBeGreaterThan(3);
    expect(names.filter((n) => !KNOWN.has(n))).toEqual([]);
    const literal = Object.fromEntries(Object.entries(c.env).filter(([n]) => KNOWN.has(n)));
    expect(parseEnvVariables(literal).problems).toEqual([]);
  });

  it.each(['docker-compose.prod.yml', 'k8s/overlays/staging', 'k8s/overlays/production'])(
    '%s sets every variable production needs',
    (where) => {
      const names = gatewayNames(where, gateways[where]!);
      expect(PRODUCTION_REQUIRED.filter((n) => !names.includes(n))).toEqual([]);
    },
  );

  it('.env.prod: only gateway variables, plus the deployment ones Compose interpolates', () => {
    const compose = readText('docker-compose.prod.yml');
    const unknown = Object.keys(prodEnvFile).filter((n) => !KNOWN.has(n));
    expect(unknown.sort()).toEqual([...DEPLOY_VARIABLES].sort());
    for (const n of DEPLOY_VARIABLES) expect([n, compose.includes(`\${${n}`)]).toEqual([n, true]);
  });

  it('.env.prod mentions every variable libs/config knows (set, or where it is set, or why not)', () => {
    const text = readText('.env.prod');
    expect(ENV_VARIABLE_NAMES.filter((n) => !new RegExp(`\\b${n}\\b`).test(text))).toEqual([]);
  });

  it('flaky-upstream gets only its own variables (Compose and the demo overlay)', () => {
    const demo = overlays.demo!;
    const envs = [
      composeEnvironment(dev.services['flaky-1']!, ROOT),
      composeEnvironment(dev.services['flaky-2']!, ROOT),
      k8sContainer(demo, findObject<IStatefulSet>(demo, 'StatefulSet', 'flaky'), 'flaky-upstream').env,
    ];
    for (const env of envs) expect(Object.keys(env).filter((n) => !FLAKY_VARIABLES.has(n))).toEqual([]);
  });
});

describe('routes and key files in the deployment files', () => {
  /** The gateway's env for parseRoutes, without the file checks of paths that exist only in the container. */
  const envFor = (where: string) => {
    const { API_KEYS_FILE: _keys, TLS_CERT_FILE: _cert, TLS_KEY_FILE: _key, ...env } = gateways[where]!.env;
    return loadEnv(Object.fromEntries(Object.entries(env).filter(([n]) => KNOWN.has(n))));
  };

  it.each([
    ['deploy/compose/dev/gateway.yaml', 'docker-compose.yml'],
    ['deploy/compose/prod/gateway.yaml', 'docker-compose.prod.yml'],
    ['k8s/base/gateway.yaml', 'k8s/overlays/production'],
    ['k8s/overlays/demo/gateway.yaml', 'k8s/overlays/demo'],
  ])('%s is a valid routes file', (file, where) => {
    const routes = parseRoutes(readText(file), envFor(where), file);
    expect(routes.services.size).toBeGreaterThan(0);
  });

  it('the demo Secret holds a valid API_KEYS_FILE whose hash is the documented demo key', () => {
    const secret = findObject<ISecret>(overlays.demo!, 'Secret', 'breakwater-secrets');
    const text = Buffer.from(secret.data!['api-keys']!.replace(/\s+/g, ''), 'base64').toString('utf8');
    const keys = parseApiKeysFile(text, 'demo api-keys');
    const documented = /client key is "([^"]+)"/.exec(readText('k8s/overlays/demo/kustomization.yaml'))![1]!;
    expect(keys).toEqual([{ name: 'demo', sha256: createHash('sha256').update(documented).digest('hex') }]);
  });

  it('the Secret template holds a valid API_KEYS_FILE example', () => {
    const template = readYaml<ISecret>('k8s/secret.template.yaml');
    expect(parseApiKeysFile(template.stringData!['api-keys']!, 'template api-keys').length).toBe(1);
  });
});
