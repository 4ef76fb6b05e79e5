import { loadEnv, parseRoutes, type RoutesConfig } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { RouteTable } from './route-table.service.js';

const YAML = `
services:
  flaky:
    instances: [http://127.0.0.1:8001, http://127.0.0.1:8002/base]
  other:
    instances: [http://127.0.0.1:9001]
routes:
  - { path: /api/v1/data, service: flaky, rewrite: /flaky-data }
  - { path: /api, service: other }
  - { path: /strip, service: other, rewrite: / }
`;

function table(yaml = YAML, env: Record<string, string> = {}): RouteTable {
  return new RouteTable(parseRoutes(yaml, loadEnv(env), null));
}

function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('RouteTable.resolve: /v1/proxy/{service}', () => {
  const t = table();

  it('maps the rest of the path and the query', () => {
    const target = t.resolve('/v1/proxy/flaky/users?x=1&y=a%20b');
    expect(target.service.name).toBe('flaky');
    expect(target.upstreamPath).toBe('/users?x=1&y=a%20b');
  });

  it('the service root is /', () => {
    expect(t.resolve('/v1/proxy/flaky').upstreamPath).toBe('/');
    expect(t.resolve('/v1/proxy/flaky/').upstreamPath).toBe('/');
    expect(t.resolve('/v1/proxy/flaky?q=1').upstreamPath).toBe('/?q=1');
  });

  it('keeps the base path out: the forwarder adds it per instance', () => {
    expect(t.resolve('/v1/proxy/flaky/x').service.instances.map((i) => i.basePath)).toEqual(['', '/base']);
    expect(t.resolve('/v1/proxy/flaky/x').upstreamPath).toBe('/x');
  });

  it('unknown service: 404 UNKNOWN_SERVICE', () => {
    const err = errorOf(() => t.resolve('/v1/proxy/ghost/users'));
    expect(err.code).toBe('UNKNOWN_SERVICE');
    expect(err.status).toBe(404);
    expect(err.detail).toBe('no service named "ghost"');
    expect(errorOf(() => t.resolve('/v1/proxy/')).code).toBe('UNKNOWN_SERVICE');
    expect(errorOf(() => t.resolve('/v1/proxy/FLAKY/x')).code).toBe('UNKNOWN_SERVICE');
  });

  it('an overlong service name is cut in the message', () => {
    expect(errorOf(() => t.resolve(`/v1/proxy/${'a'.repeat(500)}/x`)).detail).toBe(
      `no service named "${'a'.repeat(64)}"`,
    );
  });

  it('keeps an encoded slash, resolves dots inside, refuses traversal', () => {
    expect(t.resolve('/v1/proxy/flaky/projects/group%2Fproject').upstreamPath).toBe('/projects/group%2Fproject');
    expect(t.resolve('/v1/proxy/flaky/a/../b').upstreamPath).toBe('/b');
    for (const path of [
      '/v1/proxy/flaky/..',
      '/v1/proxy/flaky/../other/x',
      '/v1/proxy/flaky/%2e%2e/x',
      '/v1/proxy/flaky/..%2f',
    ]) {
      const err = errorOf(() => t.resolve(path));
      expect([err.code, err.status]).toEqual(['BAD_REQUEST', 400]);
    }
  });
});

describe('RouteTable.resolve: route mounts', () => {
  const t = table();

  it('rewrite replaces the mount path', () => {
    expect(t.resolve('/api/v1/data').upstreamPath).toBe('/flaky-data');
    expect(t.resolve('/api/v1/data?page=2').upstreamPath).toBe('/flaky-data?page=2');
    expect(t.resolve('/api/v1/data/7').upstreamPath).toBe('/flaky-data/7');
    expect(t.resolve('/api/v1/data').service.name).toBe('flaky');
  });

  it('without rewrite the mount path is kept', () => {
    const target = t.resolve('/api/users');
    expect(target.service.name).toBe('other');
    expect(target.upstreamPath).toBe('/api/users');
  });

  it('rewrite "/" strips the mount path', () => {
    expect(t.resolve('/strip/x/y').upstreamPath).toBe('/x/y');
    expect(t.resolve('/strip').upstreamPath).toBe('/');
  });

  it('the longest mount wins, whatever the file order', () => {
    const reordered = table(`
services:
  flaky: { instances: [http://127.0.0.1:8001] }
  other: { instances: [http://127.0.0.1:9001] }
routes:
  - { path: /api, service: other }
  - { path: /api/v1/data, service: flaky, rewrite: /flaky-data }
`);
    expect(reordered.resolve('/api/v1/data/x').service.name).toBe('flaky');
    expect(reordered.resolve('/api/v1/database').service.name).toBe('other');
  });

  it('matches whole segments only', () => {
    expect(t.resolve('/api/v1/dataset').upstreamPath).toBe('/api/v1/dataset'); // under /api, not /api/v1/data
    expect(errorOf(() => t.resolve('/apix')).code).toBe('NOT_FOUND');
    expect(errorOf(() => t.resolve('/stripped')).code).toBe('NOT_FOUND');
  });

  it('unknown route: 404 NOT_FOUND', () => {
    const err = errorOf(() => t.resolve('/nowhere'));
    expect([err.code, err.status]).toEqual(['NOT_FOUND', 404]);
    expect(errorOf(() => t.resolve('/')).code).toBe('NOT_FOUND');
    expect(errorOf(() => t.resolve('/v1/proxy')).code).toBe('NOT_FOUND');
  });

  it('traversal out of a mount is refused, even into another mount', () => {
    for (const path of ['/api/v1/data/..', '/api/v1/data/../../admin', '/strip/%2e%2e/x', '/api/..%5c..']) {
      expect(errorOf(() => t.resolve(path)).code).toBe('BAD_REQUEST');
    }
  });

  it('a request-target that is not a path is refused', () => {
    expect(errorOf(() => t.resolve('http://evil.example/api/x')).code).toBe('BAD_REQUEST');
    expect(errorOf(() => t.resolve('*')).code).toBe('BAD_REQUEST');
  });
});

describe('RouteTable: UPSTREAM_URL', () => {
  it('serves /proxy/* from service default, the prefix stripped', () => {
    const t = table('', { UPSTREAM_URL: 'http://127.0.0.1:9000' });
    const target = t.resolve('/proxy/users?id=1');
    expect(target.service.name).toBe('default');
    expect(target.upstreamPath).toBe('/users?id=1');
    expect(t.resolve('/proxy').upstreamPath).toBe('/');
    expect(t.resolve('/v1/proxy/default/x').upstreamPath).toBe('/x');
    expect(errorOf(() => t.resolve('/proxyx')).code).toBe('NOT_FOUND');
  });

  it('without it /proxy is not routed', () => {
    expect(errorOf(() => table().resolve('/proxy/users')).code).toBe('NOT_FOUND');
  });
});

describe('RouteTable.swap', () => {
  it('installs the new table and tells listeners, while resolved targets keep their snapshot', () => {
    const t = table();
    const before = t.resolve('/v1/proxy/flaky/x');
    const seen: [RoutesConfig, RoutesConfig][] = [];
    t.onChange((next, previous) => seen.push([next, previous]));
    const previous = t.config;
    const next = parseRoutes('services:\n  flaky:\n    instances: [http://127.0.0.1:7000]\n', loadEnv({}), null);
    t.swap(next);
    expect(t.config).toBe(next);
    expect(seen).toEqual([[next, previous]]);
    expect(t.service('other')).toBeUndefined();
    expect(errorOf(() => t.resolve('/api/x')).code).toBe('NOT_FOUND');
    expect(t.resolve('/v1/proxy/flaky/x').service.instances[0]!.origin).toBe('http://127.0.0.1:7000');
    expect(before.service.instances[0]!.origin).toBe('http://127.0.0.1:8001');
  });
});
