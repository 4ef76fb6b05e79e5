import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type ServerResponse } from 'node:http';
import { LOGGER, type Logger } from '@app/logging';
import { GatewayError } from '../common/gateway-error.js';
import { writeProblem } from '../common/problem.filter.js';
import { type GatewayRequest } from '../common/request-context.js';
import { GatewayEvents, type StampedEvent } from '../events/gateway-events.service.js';
import { ShutdownState } from '../health/shutdown-state.service.js';
import { type DashboardSnapshot, DashboardSnapshots } from './dashboard-snapshot.service.js';
import { type DrillProgress, DrillService } from './drill.service.js';
import { gapSample, readTotals, sampleBetween, type TrafficSample, type TrafficTotals } from './traffic-sampler.js';

/** Snapshot cadence. */
export const TICK_MS = 1000;
/** History the charts show: five minutes of one-second samples. */
export const HISTORY_POINTS = 300;
/** EventSource reconnect delay hint (`retry:`), so the page comes back after a gateway restart. */
export const RETRY_MS = 2000;
/** A comment line this often, so idle proxies and load balancers keep the stream open. */
const HEARTBEAT_TICKS = 15;
/** A viewer that stops reading is dropped before it holds this much of our memory. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** What a viewer gets first (SSE `init`): the charts' history, the timeline, the last snapshot. */
export interface StreamInit {
  readonly history: readonly TrafficSample[];
  readonly events: readonly (StampedEvent | (DrillProgress & { type: 'drill' }))[];
  readonly snapshot: DashboardSnapshot | null;
  readonly tickMs: number;
}

/**
 * The dashboard's Server-Sent Events hub. One timer for all viewers, running only while
 * someone watches: each tick reads the metrics once, builds one snapshot, serialises it once
 * and writes the same bytes to every viewer. Gateway events and drill progress are pushed as
 * they happen (an SSE `event:` type per kind). Streams end when shutdown starts, so they
 * never hold the drain.
 */
@Injectable()
export class DashboardStream implements OnApplicationShutdown {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private subscriptions: (() => void)[] = [];
  private seq = 0;
  private ticks = 0;
  private busy = false;
  private closed = false;
  private baseline: TrafficTotals | null = null;
  private history: TrafficSample[] = [];
  private last: DashboardSnapshot | null = null;

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly events: GatewayEvents,
    private readonly snapshots: DashboardSnapshots,
    private readonly drill: DrillService,
    private readonly shutdown: ShutdownState,
  ) {}

  /** Number of connected viewers. */
  get viewers(): number {
    return this.clients.size;
  }

  /** Whether the snapshot timer runs (only while someone watches). */
  get ticking(): boolean {
    return this.timer !== null;
  }

  /** Takes over the raw response: headers, `retry:` hint, `init`, then the live stream. */
  open(req: GatewayRequest, res: ServerResponse): void {
    if (this.closed || this.shutdown.draining) {
      const err = new GatewayError('SERVICE_UNAVAILABLE', 'the gateway is shutting down', { 'Retry-After': '2' });
      writeProblem(res, err, req.bw.requestId);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.write(`retry: ${RETRY_MS}\n\n`);
    const init: StreamInit = { history: this.history, events: this.timeline(), snapshot: this.last, tickMs: TICK_MS };
    res.write(frame('init', JSON.stringify(init)));
    this.clients.add(res);
    res.once('close', () => this.remove(res));
    if (this.timer === null) this.start();
  }

  /** A one-off snapshot (`GET /dashboard/snapshot`): the last tick's while the stream runs. */
  async current(): Promise<DashboardSnapshot> {
    if (this.last && this.timer !== null) return this.last;
    return this.snapshots.compose(this.seq, null, this.clients.size);
  }

  onApplicationShutdown(): void {
    this.closeAll();
  }

  private start(): void {
    const stale =
      this.history.length > 0 && Date.now() - this.history[this.history.length - 1].t > HISTORY_POINTS * TICK_MS;
    if (stale) this.history = [];
    else if (this.history.length > 0) this.push(gapSample(Date.now()));
    this.baseline = null;
    this.subscriptions = [
      this.events.on((e) => this.onEvent(e)),
      this.drill.onProgress((p) => this.broadcast('drill', JSON.stringify({ ...p, type: 'drill' }))),
    ];
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const unsubscribe of this.subscriptions) unsubscribe();
    this.subscriptions = [];
    this.baseline = null;
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      // Fallback for a shutdown that did not announce itself: never hold the drain past a tick.
      if (this.shutdown.draining) {
        this.closeAll();
        return;
      }
      // Counts ticks run: a timer left running with nobody watching would show here.
      const seq = ++this.seq;
      const totals = await readTotals();
      const sample = this.baseline ? sampleBetween(this.baseline, totals) : null;
      this.baseline = totals;
      if (sample) this.push(sample);
      if (this.clients.size === 0) return;
      this.last = await this.snapshots.compose(seq, sample, this.clients.size);
      this.broadcast('snapshot', JSON.stringify(this.last));
      if (++this.ticks % HEARTBEAT_TICKS === 0) this.write(': heartbeat\n\n');
    } catch (err) {
      this.logger.warn({ event: 'dashboard_tick_failed', err }, 'dashboard snapshot failed');
    } finally {
      this.busy = false;
    }
  }

  private onEvent(e: StampedEvent): void {
    this.broadcast(e.type, JSON.stringify(e));
    if (e.type === 'shutdown_started') this.closeAll();
  }

  private push(sample: TrafficSample): void {
    this.history.push(sample);
    if (this.history.length > HISTORY_POINTS) this.history.splice(0, this.history.length - HISTORY_POINTS);
  }

  private timeline(): StreamInit['events'] {
    const drills = this.drill.recentMilestones().map((p) => ({ ...p, type: 'drill' as const }));
    return [...this.events.recent(), ...drills].sort((a, b) => a.at.localeCompare(b.at));
  }

  private broadcast(event: string, json: string): void {
    this.write(frame(event, json));
  }

  /** The same bytes to every viewer; one that stopped reading is dropped. */
  private write(bytes: string): void {
    for (const res of this.clients) {
      if (!res.write(bytes) && res.writableLength > MAX_BUFFERED_BYTES) {
        this.logger.warn(
          { event: 'dashboard_viewer_dropped', buffered: res.writableLength },
          'dashboard viewer too slow: dropped',
        );
        res.destroy();
        this.remove(res);
      }
    }
  }

  /** Ends every stream (shutdown); new ones are refused from then on. */
  private closeAll(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop();
  }
}

function frame(event: string, json: string): string {
  return `event: ${event}\ndata: ${json}\n\n`;
}
