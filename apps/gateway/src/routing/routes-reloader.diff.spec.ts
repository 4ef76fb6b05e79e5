import { loadEnv, parseRoutes } from '@app/config';
import { diffRoutes } from './routes-reloader.diff.js';

const env = loadEnv({});
const parse = (yaml: string) => parseRoutes(yaml, env, 'test.yaml');

describe('diffRoutes', () => {
  it('names services added, removed and changed, and routes added and removed', () => {
    const before = parse(`
services:
  a: { instances: [http://127.0.0.1:1] }
  b: { instances: [http://127.0.0.1:2] }
  c: { instances: [http://127.0.0.1:3] }
routes:
  - { path: /x, service: a }
  - { path: /y, service: b, rewrite: /z }
`);
    const after = parse(`
services:
  a: { instances: [http://127.0.0.1:1] }
  b: { instances: [http://127.0.0.1:2], timeoutMs: 1234 }
  d: { instances: [http://127.0.0.1:4] }
routes:
  - { path: /x, service: a }
  - { path: /w, service: d, rewrite: / }
`);
    expect(diffRoutes(before, after)).toEqual({
      services: { added: ['d'], removed: ['c'], changed: ['b'] },
      routes: { added: ['/w -> d:/'], removed: ['/y -> b:/z'] },
    });
  });

  it('finds nothing between two parses of the same text', () => {
    const text = 'services:\n  a: { instances: [http://127.0.0.1:1], cache: { ttlSeconds: 1 } }\n';
    expect(diffRoutes(parse(text), parse(text))).toEqual({
      services: { added: [], removed: [], changed: [] },
      routes: { added: [], removed: [] },
    });
  });
});
