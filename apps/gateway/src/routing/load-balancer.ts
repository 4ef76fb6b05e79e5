import { Injectable } from '@nestjs/common';
import { type InstanceConfig, type ServiceConfig } from '@app/config';

/**
 * Round robin over a service's instances. `usable` lets the breaker registry skip open
 * circuits; `avoid` lets a retry prefer an instance not tried yet.
 */
@Injectable()
export class LoadBalancer {
  private readonly cursors = new Map<string, number>();

  pick(
    service: ServiceConfig,
    avoid: readonly string[] = [],
    usable: (instance: InstanceConfig) => boolean = () => true,
  ): InstanceConfig | null {
    const list = service.instances;
    const n = list.length;
    const start = this.cursors.get(service.name) ?? 0;
    this.cursors.set(service.name, (start + 1) % n);
    let fallback: InstanceConfig | null = null;
    for (let i = 0; i < n; i++) {
      const inst = list[(start + i) % n]!;
      if (!usable(inst)) continue;
      if (avoid.length === 0 || !avoid.includes(inst.id)) return inst;
      fallback ??= inst;
    }
    return fallback;
  }

  /** Forgets cursors of services that no longer exist. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of this.cursors.keys()) if (!keep.has(name)) this.cursors.delete(name);
  }
}
