import { type InstanceConfig, loadEnv, parseRoutes, type ServiceConfig } from '@app/config';
import { LoadBalancer } from './load-balancer.js';

function service(name: string, ports: number[]): ServiceConfig {
  const yaml = `services:\n  ${name}:\n    instances: [${ports.map((p) => `http://127.0.0.1:${p}`).join(', ')}]\n`;
  return parseRoutes(yaml, loadEnv({}), null).services.get(name)!;
}

const ports = (picks: (InstanceConfig | null)[]): (string | null)[] =>
  picks.map((i) => i?.hostPort.split(':')[1] ?? null);

describe('LoadBalancer', () => {
  it('goes round robin over the instances', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1, 2, 3]);
    expect(ports(Array.from({ length: 7 }, () => lb.pick(svc)))).toEqual(['1', '2', '3', '1', '2', '3', '1']);
  });

  it('keeps one cursor per service', () => {
    const lb = new LoadBalancer();
    const a = service('a', [1, 2]);
    const b = service('b', [5, 6]);
    expect(ports([lb.pick(a), lb.pick(b), lb.pick(a), lb.pick(b)])).toEqual(['1', '5', '2', '6']);
  });

  it('a single instance is always picked', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1]);
    expect(ports([lb.pick(svc), lb.pick(svc), lb.pick(svc)])).toEqual(['1', '1', '1']);
  });

  it('skips instances that are not usable (open circuits)', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1, 2, 3]);
    const notTwo = (i: InstanceConfig): boolean => !i.hostPort.endsWith(':2');
    expect(ports(Array.from({ length: 6 }, () => lb.pick(svc, [], notTwo)))).not.toContain('2');
  });

  it('shares the load of a skipped instance evenly among the others', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1, 2, 3]);
    const notTwo = (i: InstanceConfig): boolean => !i.hostPort.endsWith(':2');
    const picks = ports(Array.from({ length: 600 }, () => lb.pick(svc, [], notTwo)));
    expect(picks.filter((p) => p === '1')).toHaveLength(300);
    expect(picks.filter((p) => p === '3')).toHaveLength(300);
  });

  it('returns null when no instance is usable', () => {
    const lb = new LoadBalancer();
    expect(lb.pick(service('a', [1, 2]), [], () => false)).toBeNull();
  });

  it('a retry prefers an instance not tried yet', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1, 2, 3]);
    const first = lb.pick(svc)!;
    const second = lb.pick(svc, [first.id])!;
    expect(second.id).not.toBe(first.id);
    const third = lb.pick(svc, [first.id, second.id])!;
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    // Every instance tried: one of them again rather than none.
    expect(lb.pick(svc, [first.id, second.id, third.id])).not.toBeNull();
  });

  it('falls back to a tried instance when it is the only usable one', () => {
    const lb = new LoadBalancer();
    const svc = service('a', [1, 2]);
    const onlyOne = (i: InstanceConfig): boolean => i.hostPort.endsWith(':1');
    const one = svc.instances[0]!;
    expect(lb.pick(svc, [one.id], onlyOne)).toBe(one);
  });

  it('survives an instance list that shrank on reload', () => {
    const lb = new LoadBalancer();
    const big = service('a', [1, 2, 3]);
    lb.pick(big);
    lb.pick(big);
    const small = service('a', [7]);
    expect(ports([lb.pick(small), lb.pick(small)])).toEqual(['7', '7']);
  });

  it('retain() forgets the cursors of removed services', () => {
    const lb = new LoadBalancer();
    const a = service('a', [1, 2]);
    lb.pick(a);
    lb.retain(['b']);
    expect(ports([lb.pick(a)])).toEqual(['1']); // starts over
    lb.retain(['a']);
    expect(ports([lb.pick(a)])).toEqual(['2']);
  });
});
