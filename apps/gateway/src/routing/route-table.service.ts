import { Inject, Injectable } from '@nestjs/common';
import { INITIAL_ROUTES, type RouteConfig, type RoutesConfig, type ServiceConfig } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { type ProxyTarget } from '../common/request-context.js';
import { confinePath, joinUpstreamPath, SERVICE_PREFIX, splitTarget } from './path-rules.js';

export type RoutesListener = (next: RoutesConfig, previous: RoutesConfig) => void;

/**
 * The live routing table. Swapped atomically on reload: a request resolves against the
 * snapshot current when it arrived and keeps that ServiceConfig for its whole life.
 */
@Injectable()
export class RouteTable {
  private current: RoutesConfig;
  private readonly listeners: RoutesListener[] = [];

  constructor(@Inject(INITIAL_ROUTES) initial: RoutesConfig) {
    this.current = initial;
  }

  get config(): RoutesConfig {
    return this.current;
  }

  service(name: string): ServiceConfig | undefined {
    return this.current.services.get(name);
  }

  /** Installs a new table and tells the listeners (breakers, metrics, dashboard). */
  swap(next: RoutesConfig): void {
    const previous = this.current;
    this.current = next;
    for (const listener of this.listeners) listener(next, previous);
  }

  onChange(listener: RoutesListener): void {
    this.listeners.push(listener);
  }

  /**
   * Maps a request-target to a service and the upstream path.
   * @throws {GatewayError} BAD_REQUEST (traversal, malformed), UNKNOWN_SERVICE, NOT_FOUND.
   */
  resolve(target: string): ProxyTarget {
    if (target.charCodeAt(0) !== 47 /* '/' */) throw new GatewayError('BAD_REQUEST', 'request-target must be a path');
    const { path, query } = splitTarget(target);
    const table = this.current;

    let service: ServiceConfig | undefined;
    let prefix: string;
    let rest: string;
    if (path.startsWith(SERVICE_PREFIX)) {
      const slash = path.indexOf('/', SERVICE_PREFIX.length);
      const name = slash === -1 ? path.slice(SERVICE_PREFIX.length) : path.slice(SERVICE_PREFIX.length, slash);
      service = table.services.get(name);
      if (!service) throw new GatewayError('UNKNOWN_SERVICE', `no service named "${name.slice(0, 64)}"`);
      prefix = '';
      rest = slash === -1 ? '' : path.slice(slash);
    } else {
      const route = matchRoute(table.routes, path);
      if (!route) throw new GatewayError('NOT_FOUND', 'no route matches this path');
      service = table.services.get(route.service)!;
      prefix = route.rewrite;
      rest = path.slice(route.path.length);
    }
    const confined = confinePath(rest);
    if (!confined.ok) throw new GatewayError('BAD_REQUEST', confined.reason);
    // The base path is per instance: the forwarder prefixes it.
    return { service, upstreamPath: joinUpstreamPath('', prefix, confined.path, query) };
  }
}

function matchRoute(routes: readonly RouteConfig[], path: string): RouteConfig | undefined {
  for (const route of routes) {
    if (path === route.path || (path.startsWith(route.path) && path.charCodeAt(route.path.length) === 47)) return route;
  }
  return undefined;
}
