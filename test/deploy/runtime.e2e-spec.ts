import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IDeployment } from 'kubernetes-models/apps/v1';
import { type IConfigMap } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import {
  freePort,
  request,
  startGateway,
  startRedis,
  ManagedProcess,
  baseEnv,
  waitForPort,
  type GatewayProc,
} from '../helpers/index.js';
import { ROOT, findObject, kustomizeBuild, readText } from './deploy-helpers.js';

/* The deployment files against the real apps: the production overlay's settings start the
 * gateway from the image's file layout (package.json, node_modules, dist/apps/<APP>, the
 * dist/main.js link, healthcheck.mjs), with a password-protected Redis; the probes, scrape
 * path and health checks the manifests and Compose files name answer where they point. */

const objects = kustomizeBuild('k8s/overlays/production');
const deployment = findObject<IDeployment>(objects, 'Deployment', 'breakwater-gateway');
const container = deployment.spec!.template.spec!.containers[0]!;
const configMapEnv = findObject<IConfigMap>(objects, 'ConfigMap', 'breakwater-gateway-env').data!;

/** /app as the Dockerfile's runtime stage lays it out, for one app. */
function imageLayout(app: 'gateway' | 'flaky-upstream'): string {
  const dir = mkdtempSync(join(tmpdir(), `bw-image-${app}-`));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  mkdirSync(join(dir, 'dist/apps'), { recursive: true });
  cpSync(join(ROOT, 'dist/apps', app), join(dir, 'dist/apps', app), { recursive: true });
  symlinkSync(`apps/${app}/main.js`, join(dir, 'dist/main.js'));
  copyFileSync(join(ROOT, 'deploy/docker/healthcheck.mjs'), join(dir, 'healthcheck.mjs'));
  return dir;
}

/** The image's HEALTHCHECK, run as Docker would (in /app, with the container's env). */
function healthcheck(dir: string, env: Record<string, string>): Promise<number> {
  return new Promise((done) => {
    execFile(process.execPath, ['healthcheck.mjs'], { cwd: dir, env: baseEnv(env), timeout: 10_000 }, (err) =>
      done(err ? (typeof err.code === 'number' ? err.code : -1) : 0),
    );
  });
}

describe('the production settings on the image layout', () => {
  const dirs: string[] = [];
  let gateway: GatewayProc;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = imageLayout('gateway');
    dirs.push(dir);
    // The mounted ConfigMap and Secret folders.
    const etc = join(dir, 'etc');
    mkdirSync(join(etc, 'breakwater'), { recursive: true });
    mkdirSync(join(etc, 'breakwater-secrets'));
    writeFileSync(join(etc, 'breakwater/gateway.yaml'), readText('k8s/base/gateway.yaml'));
    const template = parse(readText('k8s/secret.template.yaml')) as { stringData: Record<string, string> };
    writeFileSync(join(etc, 'breakwater-secrets/api-keys'), template.stringData['api-keys']!);
    const redis = await startRedis({ args: ['--requirepass', 'deploy-test-password'] });
    const [port, management] = [await freePort(), await freePort()];
    env = {
      ...configMapEnv,
      PORT: String(port),
      MANAGEMENT_PORT: String(management === port ? port + 1 : management),
      HOST: '127.0.0.1',
      GATEWAY_CONFIG: join(etc, 'breakwater/gateway.yaml'),
      API_KEYS_FILE: join(etc, 'breakwater-secrets/api-keys'),
      REDIS_URL: `redis://:deploy-test-password@127.0.0.1:${redis.port}/0`,
      ADMIN_API_KEY: 'deploy-test-admin-key',
      // The test ends with a SIGTERM; nothing is in flight, so a short drain changes nothing.
      SHUTDOWN_DRAIN_MS: '1000',
    };
    gateway = await startGateway({
      entry: join(dir, 'dist/main.js'),
      cwd: dir,
      env,
      waitReady: true,
      timeoutMs: 20_000,
    });
  }, 30_000);

  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('answers the Deployment probes on the management port: startup, liveness, readiness', async () => {
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      const res = await request(`${gateway.mgmtUrl}${probe!.httpGet!.path}`);
      expect([probe!.httpGet!.path, res.status]).toEqual([probe!.httpGet!.path, 200]);
    }
    const ready = await request(`${gateway.mgmtUrl}/health/ready`);
    expect(ready.text).not.toMatch(/degraded/);
  });

  it('serves the scrape path of the prometheus.io annotations on the management port', async () => {
    const annotations = deployment.spec!.template.metadata!.annotations!;
    const res = await request(`${gateway.mgmtUrl}${annotations['prometheus.io/path']}`);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^# HELP gateway_http_requests_total/m);
  });

  it('keeps health and metrics off the proxy port (the one the Service exposes)', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      const res = await request(`${gateway.url}${path}`);
      expect([path, res.status]).not.toEqual([path, 200]);
    }
  });

  it("passes the image's HEALTHCHECK, and fails it once the gateway is gone", async () => {
    expect(await healthcheck(dir, { APP: 'gateway', PORT: env.PORT!, MANAGEMENT_PORT: env.MANAGEMENT_PORT! })).toBe(0);
    // SIGTERM as tini forwards it: the gateway drains and exits 0.
    expect(await gateway.stop(10_000)).toBe(0);
    expect(await healthcheck(dir, { APP: 'gateway', PORT: env.PORT!, MANAGEMENT_PORT: env.MANAGEMENT_PORT! })).toBe(1);
  });
});

describe('flaky-upstream on the image layout', () => {
  it("starts from dist/main.js with the Compose env and passes the image's HEALTHCHECK", async () => {
    const dir = imageLayout('flaky-upstream');
    try {
      const port = await freePort();
      const env = { APP: 'flaky-upstream', PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: 'flaky-1' };
      const child = new ManagedProcess(process.execPath, ['dist/main.js'], {
        name: 'flaky-image',
        env: baseEnv(env),
        cwd: dir,
      });
      await waitForPort(port, '127.0.0.1', 10_000, { process: child });
      expect(await healthcheck(dir, env)).toBe(0);
      const res = await request(`http://127.0.0.1:${port}/health`);
      expect(res.headers['x-instance-id']).toBe('flaky-1');
      expect(await child.stop('SIGTERM', 5000)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
