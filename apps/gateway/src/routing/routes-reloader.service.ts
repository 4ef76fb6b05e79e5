import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, GATEWAY_ENV, type GatewayEnv, loadRoutes, parseRoutes, type RoutesConfig } from '@app/config';
import { LOGGER, type Logger } from '@app/logging';
import { GatewayEvents } from '../events/gateway-events.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LoadBalancer } from './load-balancer.js';
import { type FolderWatch, watchFolders } from '../common/folder-watch.js';
import { diffRoutes, type RoutesChanges } from './routes-reloader.diff.js';
import { RouteTable } from './route-table.service.js';

/** What asked for a reload. */
export type ReloadTrigger = 'api' | 'sighup' | 'watch';

/** A reload that was applied (or found nothing to change). */
export interface ReloadSuccess extends RoutesChanges {
  readonly result: 'success';
  readonly trigger: ReloadTrigger;
  /** Whether the table was swapped (false: the file gives the table already in use). */
  readonly changed: boolean;
  readonly version: { readonly from: string; readonly to: string };
}

/** A reload that was refused: the old table stays. */
export interface ReloadFailure {
  readonly result: 'failure';
  readonly trigger: ReloadTrigger;
  /** The version still in use. */
  readonly version: string;
  /** Every problem, by YAML path. */
  readonly problems: readonly string[];
}

export type ReloadResult = ReloadSuccess | ReloadFailure;

/** Quiet time after the last file event before the routes file is read again. */
const WATCH_DEBOUNCE_MS = 200;

/**
 * Hot reload of the routes file (CONTRACT §4): on `POST /admin/reload`, `SIGHUP`, and when the
 * file's folder changes (editor write-rename, Kubernetes ConfigMap `..data` swap). A valid file
 * swaps the route table atomically (in-flight requests keep the ServiceConfig they resolved;
 * breakers of unchanged instances keep their state); an invalid one is refused with every
 * problem and the old table stays. Each attempt is counted (`gateway_config_reloads_total`)
 * and emitted as a `config_reload` event (logged, shown on the dashboard). The watch compares
 * content hashes, so touching or re-mounting an unchanged file does nothing.
 */
@Injectable()
export class RoutesReloader implements OnApplicationBootstrap, OnApplicationShutdown {
  private watch: FolderWatch | null = null;
  /** sha256 of the file text last looked at by the watch. */
  private lastSeen: string | null = null;

  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly table: RouteTable,
    private readonly balancer: LoadBalancer,
    private readonly metrics: MetricsService,
    private readonly events: GatewayEvents,
  ) {}

  /** Reads the routes file again and applies it, or keeps the old table and says why. Never throws. */
  reload(trigger: ReloadTrigger): ReloadResult {
    let next: RoutesConfig;
    try {
      next = loadRoutes(this.env);
    } catch (err) {
      return this.refuse(trigger, problemsOf(err));
    }
    return this.apply(next, trigger);
  }

  onApplicationBootstrap(): void {
    const folder = dirname(resolve(this.env.gatewayConfig.path));
    try {
      this.watch = watchFolders([folder], () => this.check(), {
        debounceMs: WATCH_DEBOUNCE_MS,
        onError: (dir, err) =>
          this.logger.warn(
            { event: 'config_watch_failed', folder: dir, err: err.message },
            'routes file no longer watched',
          ),
      });
    } catch (err) {
      this.logger.warn(
        { event: 'config_watch_failed', folder, err: (err as Error).message },
        'routes file folder cannot be watched: reload with POST /admin/reload or SIGHUP',
      );
      return;
    }
    // The file may have changed between start-up and now.
    this.check();
  }

  onApplicationShutdown(): void {
    this.watch?.close();
    this.watch = null;
  }

  /** The watch's check: reload only when the file's content differs from what was last seen. */
  check(): void {
    const path = this.env.gatewayConfig.path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return; // gone for a moment (an editor's delete-and-write) or not there yet: the next event tells
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === this.lastSeen) return;
    this.lastSeen = hash;
    let next: RoutesConfig;
    try {
      next = parseRoutes(text, this.env, path);
    } catch (err) {
      this.refuse('watch', problemsOf(err));
      return;
    }
    if (next.version !== this.table.config.version) this.apply(next, 'watch');
  }

  private apply(next: RoutesConfig, trigger: ReloadTrigger): ReloadSuccess {
    const previous = this.table.config;
    const changed = next.version !== previous.version;
    if (changed) {
      this.table.swap(next);
      this.balancer.retain(next.services.keys());
    }
    const result: ReloadSuccess = {
      result: 'success',
      trigger,
      changed,
      version: { from: previous.version, to: next.version },
      ...diffRoutes(previous, next),
    };
    this.metrics.recordReload(true);
    this.events.emit({
      type: 'config_reload',
      result: 'success',
      version: next.version,
      changes: { changed, from: previous.version, services: result.services, routes: result.routes },
      trigger,
    });
    return result;
  }

  private refuse(trigger: ReloadTrigger, problems: readonly string[]): ReloadFailure {
    const version = this.table.config.version;
    this.metrics.recordReload(false);
    this.events.emit({ type: 'config_reload', result: 'failure', version, problems, trigger });
    return { result: 'failure', trigger, version, problems };
  }
}

function problemsOf(err: unknown): readonly string[] {
  if (err instanceof ConfigError) return err.problems;
  return [`routes file: ${(err as Error).message}`];
}
