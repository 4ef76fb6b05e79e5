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
    const start = (this.cursors.get(service.name) ?? 0) % n;
    let fallback = -1;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % n;
      const inst = list[k]!;
      if (!usable(inst)) continue;
      if (avoid.length === 0 || !avoid.includes(inst.id)) return this.chosen(service, k);
      if (fallback === -1) fallback = k;
    }
    return fallback === -1 ? null : this.chosen(service, fallback);
  }

  // The cursor moves past the chosen instance, not by one: the share of a skipped instance
  // is spread over the others instead of doubling the next one's.
  private chosen(service: ServiceConfig, index: number): InstanceConfig {
    this.cursors.set(service.name, (index + 1) % service.instances.length);
    return service.instances[index]!;
  }

  /** Forgets cursors of services that no longer exist. */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of this.cursors.keys()) if (!keep.has(name)) this.cursors.delete(name);
  }
}
