import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { ROOT, readText, readYaml } from './deploy-helpers.js';
import {
  composeEnvironment,
  interpolate,
  parseEnvFile,
  type ComposeFile,
  type ComposeService,
} from './compose-model.js';

/* docker-compose.yml (development) and docker-compose.prod.yml (one host) against the
 * compose-spec JSON schema, DCLint's rules, and the deployment policy of issue 9. */

// The compose-spec schema as DCLint ships it (kept current with the spec by its maintainers).
const schemaPath = join(
  dirname(createRequire(import.meta.url).resolve('dclint/package.json')),
  'schemas',
  'compose.schema.json',
);
const { $schema: draft, ...composeSchema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
// Draft-07, Ajv's default dialect; its $schema spells the meta-schema's address differently
// (https, no fragment), which Ajv would look up and not find. strict: false lets the schema's
// annotations (e.g. "deprecated") through; it does not loosen the validation of the files.
if (!String(draft).includes('draft-07')) throw new Error(`compose schema dialect changed: ${String(draft)}`);
const ajv = new Ajv({ allErrors: true, strict: false });
const validateCompose = ajv.compile(composeSchema);

const FILES = ['docker-compose.yml', 'docker-compose.prod.yml'] as const;
const dev = readYaml<ComposeFile>('docker-compose.yml');
const prod = readYaml<ComposeFile>('docker-compose.prod.yml');
const prodEnv = parseEnvFile(readText('.env.prod'));
/** The prod file as Compose sees it with `--env-file .env.prod`. */
const prodResolved = interpolate(prod, prodEnv) as ComposeFile;

function schemaErrors(file: unknown): string[] {
  return validateCompose(file) ? [] : validateCompose.errors!.map((e) => `${e.instancePath} ${e.message}`);
}

function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}

describe.each(FILES)('%s', (file) => {
  const compose = file === 'docker-compose.yml' ? dev : prodResolved;
  const services = Object.entries(compose.services);

  it('validates against the compose-spec schema, before and after interpolation', () => {
    expect(schemaErrors(readYaml(file))).toEqual([]);
    expect(schemaErrors(compose)).toEqual([]);
  });

  it('passes DCLint (its ordering rules, pure style, off)', () => {
    const linter = new DCLinter({
      rules: {
        'service-keys-order': 0,
        'services-alphabetical-order': 0,
        'top-level-properties-order': 0,
        'service-dependencies-alphabetical-order': 0,
        'service-ports-alphabetical-order': 0,
      },
      quiet: false,
      debug: false,
      exclude: [],
    });
    const [result] = linter.lintFiles([join(ROOT, file)], false);
    expect(
      result!.messages.map(
        (m: { line: number; message: string; rule: string }) => `${m.line}: ${m.message} (${m.rule})`,
      ),
    ).toEqual([]);
  });

  it('gives every service a healthcheck, CPU and memory limits, log rotation and a restart policy', () => {
    for (const [name, s] of services) {
      expect([name, (s.healthcheck?.test?.length ?? 0) > 1, s.healthcheck?.disable]).toEqual([name, true, undefined]);
      expect([name, Object.keys(s.deploy?.resources?.limits ?? {}).sort()]).toEqual([name, ['cpus', 'memory']]);
      expect([name, s.logging?.driver, s.logging?.options?.['max-size'] !== undefined]).toEqual([
        name,
        'json-file',
        true,
      ]);
      expect([name, s.restart]).toEqual([name, 'unless-stopped']);
    }
  });

  it('pins every image to a tag (never latest) and builds only from this repository', () => {
    for (const [name, s] of services) {
      if (s.build) {
        expect([name, s.build.context, typeof s.build.args?.APP]).toEqual([name, '.', 'string']);
        continue;
      }
      expect([name, /:[\w][\w.-]*$/.test(s.image ?? '') && !s.image!.endsWith(':latest')]).toEqual([name, true]);
    }
  });

  it('gives the gateway a stop_grace_period of at least SHUTDOWN_DRAIN_MS + 5 s', () => {
    const gateway = compose.services.gateway!;
    const env = composeEnvironment(gateway, ROOT);
    const drain = Number(env.SHUTDOWN_DRAIN_MS ?? '25000') / 1000;
    expect(seconds(gateway.stop_grace_period!)).toBeGreaterThanOrEqual(drain + 5);
  });

  it('starts the gateway only once its dependencies are healthy', () => {
    const deps = compose.services.gateway!.depends_on as Record<string, { condition: string }>;
    expect(Object.keys(deps)).toContain('redis');
    for (const [name, dep] of Object.entries(deps)) expect([name, dep.condition]).toEqual([name, 'service_healthy']);
    for (const name of Object.keys(deps)) expect(compose.services[name]?.healthcheck).toBeDefined();
  });

  it('mounts the routes folder the gateway reads, and that folder holds a routes file', () => {
    const gateway = compose.services.gateway!;
    const config = composeEnvironment(gateway, ROOT).GATEWAY_CONFIG!;
    const mount = (gateway.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([, target]) => config.startsWith(`${target}/`))!;
    expect(mount[2]).toBe('ro');
    expect(existsSync(join(ROOT, mount[0]!, config.slice(mount[1]!.length + 1)))).toBe(true);
  });
});

describe('docker-compose.prod.yml policy', () => {
  const { gateway, redis } = prodResolved.services as Record<string, ComposeService>;

  it('hardens every service: read-only root, no-new-privileges, all capabilities dropped', () => {
    for (const [name, s] of Object.entries(prodResolved.services)) {
      expect([name, s.read_only, s.security_opt, s.cap_drop]).toEqual([
        name,
        true,
        ['no-new-privileges:true'],
        ['ALL'],
      ]);
    }
  });

  it('reads .env.prod, pins the gateway image to BREAKWATER_TAG, keeps the management port on loopback', () => {
    expect(prod.services.gateway!.env_file).toEqual(['.env.prod']);
    expect(prod.services.gateway!.image).toMatch(/:\$\{BREAKWATER_TAG:\?[^}]+\}$/);
    expect(gateway!.image).toBe(`${prodEnv.BREAKWATER_IMAGE}:${prodEnv.BREAKWATER_TAG}`);
    const env = composeEnvironment(gateway!, ROOT);
    expect(gateway!.ports).toEqual([
      `0.0.0.0:${env.PORT}:${env.PORT}`,
      `127.0.0.1:${env.MANAGEMENT_PORT}:${env.MANAGEMENT_PORT}`,
    ]);
  });

  it('runs Redis with AOF on a named volume and a password the gateway URL shares', () => {
    const command = (redis!.command as string[]).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--requirepass "$REDISCLI_AUTH"');
    expect(redis!.environment).toEqual({ REDISCLI_AUTH: prodEnv.REDIS_PASSWORD });
    expect(redis!.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(prodResolved.volumes ?? {})).toEqual(['redis-data']);
    expect(composeEnvironment(gateway!, ROOT).REDIS_URL).toBe(`redis://:${prodEnv.REDIS_PASSWORD}@redis:6379/0`);
  });

  it('defines every ${VARIABLE} it uses in .env.prod', () => {
    const used = [...readText('docker-compose.prod.yml').matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => prodEnv[name] === undefined)).toEqual([]);
  });
});

describe('docker-compose.yml wiring with deploy/prometheus and deploy/grafana', () => {
  const mounts = (service: string) =>
    new Map((dev.services[service]!.volumes ?? []).map((v) => [v.split(':')[1]!, v.split(':')[0]!]));

  it('runs Prometheus on the scrape config and rules of deploy/prometheus/, scraping the gateway', () => {
    const prometheus = dev.services.prometheus!;
    expect(mounts('prometheus').get('/etc/prometheus')).toBe('./deploy/prometheus');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const config = readYaml<{
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
    }>('deploy/prometheus/prometheus.yml');
    for (const rules of config.rule_files) expect(existsSync(join(ROOT, 'deploy/prometheus', rules))).toBe(true);
    const job = config.scrape_configs.find((j) => j.job_name === 'breakwater-gateway')!;
    const env = composeEnvironment(dev.services.gateway!, ROOT);
    // Development leaves MANAGEMENT_PORT unset: metrics are on PORT.
    expect(env.MANAGEMENT_PORT).toBeUndefined();
    expect(job.static_configs![0]!.targets).toEqual([`gateway:${env.PORT}`]);
  });

  it('provisions Grafana from deploy/grafana/: datasource at the prometheus service, dashboards where the provider looks', () => {
    const m = mounts('grafana');
    expect(m.get('/etc/grafana/provisioning')).toBe('./deploy/grafana/provisioning');
    const provider = readYaml<{ providers: { options: { path: string } }[] }>(
      'deploy/grafana/provisioning/dashboards/breakwater.yml',
    );
    expect(m.get(provider.providers[0]!.options.path)).toBe('./deploy/grafana/dashboards');
    const datasource = readYaml<{ datasources: { url: string }[] }>(
      'deploy/grafana/provisioning/datasources/prometheus.yml',
    );
    expect(datasource.datasources[0]!.url).toBe('http://prometheus:9090');
    expect(dev.services.prometheus!.ports).toEqual(['127.0.0.1:9090:9090']);
  });

  it('routes the gateway to the two flaky upstreams by their service names', () => {
    const routes = readYaml<{ services: Record<string, { instances: string[] }> }>('deploy/compose/dev/gateway.yaml');
    const instances = routes.services.flaky!.instances;
    expect(instances).toEqual(
      ['flaky-1', 'flaky-2'].map((name) => `http://${name}:${composeEnvironment(dev.services[name]!, ROOT).PORT}`),
    );
  });
});

describe('the schema check itself', () => {
  it('refuses an unknown service key and a wrong type (it can fail)', () => {
    const broken = structuredClone(dev) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.gateway!.restart_policy = 'always';
    broken.services.redis!.ports = 6379;
    const errors = schemaErrors(broken).join('\n');
    expect(errors).toMatch(/\/services\/gateway must NOT have additional properties/);
    expect(errors).toMatch(/\/services\/redis\/ports must be array/);
  });
});

// Keep the .env.prod reader honest too: Compose's format, comments and blank lines skipped.
describe('parseEnvFile', () => {
  it('reads KEY=value lines the way Compose does', () => {
    expect(parseEnvFile('# c\n\nA=1\nB=x y\nC="q w"\nexport D=4\n')).toEqual({ A: '1', B: 'x y', C: 'q w', D: '4' });
    expect(() => parseEnvFile('not a line\n')).toThrow(/line 1/);
  });
});
