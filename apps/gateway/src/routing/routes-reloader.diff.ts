import { type RouteConfig, type RoutesConfig } from '@app/config';

/** What a reload changed, by name. */
export interface RoutesChanges {
  readonly services: { readonly added: string[]; readonly removed: string[]; readonly changed: string[] };
  /** Routes as `path -> service[rewrite]`. */
  readonly routes: { readonly added: string[]; readonly removed: string[] };
}

function describeRoute(r: RouteConfig): string {
  return r.rewrite === r.path ? `${r.path} -> ${r.service}` : `${r.path} -> ${r.service}:${r.rewrite || '/'}`;
}

/** Services added, removed or changed (any instance or policy), routes added or removed. Sorted. */
export function diffRoutes(previous: RoutesConfig, next: RoutesConfig): RoutesChanges {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [name, svc] of next.services) {
    const old = previous.services.get(name);
    if (!old) added.push(name);
    else if (old !== svc && JSON.stringify(old) !== JSON.stringify(svc)) changed.push(name);
  }
  for (const name of previous.services.keys()) if (!next.services.has(name)) removed.push(name);
  const before = new Set(previous.routes.map(describeRoute));
  const after = new Set(next.routes.map(describeRoute));
  return {
    services: { added: added.sort(), removed: removed.sort(), changed: changed.sort() },
    routes: {
      added: [...after].filter((r) => !before.has(r)).sort(),
      removed: [...before].filter((r) => !after.has(r)).sort(),
    },
  };
}
