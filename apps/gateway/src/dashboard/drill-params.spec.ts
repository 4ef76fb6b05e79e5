import { type RoutesConfig, type ServiceConfig } from '@app/config';
import { parseDrillParams } from './drill-params.js';

function routes(...names: string[]): RoutesConfig {
  return {
    services: new Map(names.map((n) => [n, { name: n } as ServiceConfig])),
    routes: [],
    source: null,
    version: 'v',
  };
}

describe('parseDrillParams', () => {
  it('defaults to the demo drill on flaky', () => {
    expect(parseDrillParams({}, routes('a', 'flaky'))).toEqual({
      service: 'flaky',
      failPath: '/fail?status=503',
      okPath: '/ok',
    });
    expect(parseDrillParams(undefined, routes('a', 'flaky'))).toEqual({
      service: 'flaky',
      failPath: '/fail?status=503',
      okPath: '/ok',
    });
  });

  it('falls back to the first service when there is no flaky', () => {
    expect(parseDrillParams({}, routes('orders', 'users'))).toMatchObject({ service: 'orders' });
  });

  it('takes a configured service and paths', () => {
    expect(
      parseDrillParams({ service: 'users', failPath: '/fail?status=502', okPath: '/health' }, routes('users')),
    ).toEqual({
      service: 'users',
      failPath: '/fail?status=502',
      okPath: '/health',
    });
  });

  it('lists every problem', () => {
    const r = parseDrillParams({ service: 'nope', failPath: '../x', okPath: '/a/../b', extra: 1 }, routes('flaky'));
    expect(r).toEqual({
      problems: [
        'extra: unknown field',
        'service: expected one of flaky',
        expect.stringMatching(/^failPath: /),
        expect.stringMatching(/^okPath: /),
      ],
    });
  });

  it('refuses odd paths', () => {
    for (const p of ['ok', '//evil.example/x', '/a b', '/x\n', '/..', '/a/./b', 'x'.repeat(300), 5]) {
      expect(parseDrillParams({ okPath: p }, routes('flaky'))).toHaveProperty('problems');
    }
    expect(parseDrillParams([], routes('flaky'))).toHaveProperty('problems');
    expect(parseDrillParams({}, routes())).toHaveProperty('problems');
  });
});
