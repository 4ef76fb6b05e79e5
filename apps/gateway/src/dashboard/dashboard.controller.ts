import { Controller, Get, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { type Request, type Response } from 'express';
import { GATEWAY_ENV, type GatewayEnv } from '@app/config';
import { GatewayError } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';
import { ShutdownState } from '../health/shutdown-state.service.js';
import { RouteTable } from '../routing/route-table.service.js';
import { DashboardEndpoint } from './dashboard-access.decorator.js';
import { DashboardAccess } from './dashboard-access.service.js';
import { type Asset, DashboardAssets } from './dashboard-assets.js';
import { DashboardStream } from './dashboard-stream.service.js';
import { type DashboardRequest, DashboardGuard } from './dashboard.guard.js';
import { parseDrillParams } from './drill-params.js';
import { DrillRunning, DrillService } from './drill.service.js';
import { renderDashboardPage, renderLoginPage } from './public/page.html.js';
import { readSmallBody } from './read-body.js';

/** Pages may load only our own files, and may not be framed. */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'private, no-cache',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
} as const;

/**
 * The live dashboard: the page and its assets, the SSE stream, a JSON snapshot, the drill,
 * and the sign-in form used when ADMIN_API_KEY is set. Handlers write the raw response.
 */
@Controller('dashboard')
@UseGuards(DashboardGuard)
export class DashboardController {
  private readonly assets = new DashboardAssets();

  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly access: DashboardAccess,
    private readonly stream: DashboardStream,
    private readonly drill: DrillService,
    private readonly table: RouteTable,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get()
  @DashboardEndpoint('page')
  page(@Req() req: DashboardRequest, @Res() res: Response): void {
    if (req.dashboardAnonymous) {
      redirect(res, '/dashboard/login');
      return;
    }
    const html = renderDashboardPage({
      assets: this.assets.urls,
      drill: this.drill.enabled,
      signedIn: this.access.required,
    });
    send(res, 200, PAGE_HEADERS, html);
  }

  @Get('login')
  @DashboardEndpoint('public')
  async loginForm(@Req() req: GatewayRequest, @Res() res: Response): Promise<void> {
    if ((await this.access.check(req)) === 'ok') {
      redirect(res, '/dashboard');
      return;
    }
    send(res, 200, PAGE_HEADERS, renderLoginPage({ css: this.assets.urls.css }));
  }

  @Post('login')
  @DashboardEndpoint('public')
  async login(@Req() req: GatewayRequest, @Res() res: Response): Promise<void> {
    if (!this.access.required) {
      redirect(res, '/dashboard');
      return;
    }
    const key = new URLSearchParams(await readSmallBody(req, 4096)).get('key') ?? '';
    const result = await this.access.login(key, req.bw.clientIp);
    if (typeof result !== 'string') {
      const error =
        result.code === 'RATE_LIMITED'
          ? 'Too many wrong keys from this address: try again later.'
          : 'That key is not the admin key.';
      send(
        res,
        result.status,
        { ...PAGE_HEADERS, ...pick(result.headers, 'Retry-After') },
        renderLoginPage({ css: this.assets.urls.css, error }),
      );
      return;
    }
    res.setHeader('Set-Cookie', this.access.sessionCookie(result, isTls(req)));
    redirect(res, '/dashboard');
  }

  @Post('logout')
  @DashboardEndpoint('public')
  logout(@Req() req: GatewayRequest, @Res() res: Response): void {
    res.setHeader('Set-Cookie', this.access.clearCookie(isTls(req)));
    redirect(res, this.access.required ? '/dashboard/login' : '/dashboard');
  }

  @Get('assets/dashboard.css')
  @DashboardEndpoint('public')
  css(@Res() res: Response): void {
    sendAsset(res, this.assets.css);
  }

  @Get('assets/dashboard.js')
  @DashboardEndpoint('public')
  js(@Res() res: Response): void {
    sendAsset(res, this.assets.js);
  }

  @Get('assets/chart.umd.min.js')
  @DashboardEndpoint('public')
  chart(@Res() res: Response): void {
    sendAsset(res, this.assets.chart);
  }

  @Get('events')
  events(@Req() req: GatewayRequest, @Res() res: Response): void {
    this.stream.open(req, res);
  }

  @Get('snapshot')
  async snapshot(@Res() res: Response): Promise<void> {
    send(
      res,
      200,
      { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
      JSON.stringify(await this.stream.current()),
    );
  }

  @Post('drill')
  async startDrill(@Req() req: GatewayRequest, @Res() res: Response): Promise<void> {
    if (!this.drill.enabled) throw new GatewayError('NOT_FOUND', 'no route matches this path');
    if (this.shutdown.draining) throw new GatewayError('SERVICE_UNAVAILABLE', 'the gateway is shutting down');
    // A JSON body cannot be sent cross-site without a CORS preflight, which we never grant.
    const type = req.headers['content-type'] ?? '';
    const text = await readSmallBody(req, 4096);
    if (text !== '' && !/^application\/json\s*(;|$)/i.test(type))
      throw new GatewayError('BAD_REQUEST', 'send the drill parameters as application/json');
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new GatewayError('BAD_REQUEST', 'the body is not valid JSON');
    }
    const params = parseDrillParams(body, this.table.config);
    if ('problems' in params)
      throw new GatewayError('BAD_REQUEST', params.problems.join('; '), {}, { problems: params.problems });
    try {
      send(
        res,
        202,
        { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
        JSON.stringify(this.drill.start(params)),
      );
    } catch (err) {
      if (!(err instanceof DrillRunning)) throw err;
      throw new GatewayError('DRILL_RUNNING', 'a circuit breaker test is already running: wait for it to finish');
    }
  }
}

function send(res: Response, status: number, headers: Readonly<Record<string, string>>, body: string | Buffer): void {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendAsset(res: Response, asset: Asset): void {
  send(
    res,
    200,
    { 'Content-Type': asset.contentType, 'Cache-Control': asset.cacheControl, 'X-Content-Type-Options': 'nosniff' },
    asset.body,
  );
}

function redirect(res: Response, location: string): void {
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', 0);
  res.end();
}

/** A problem document for a status the shared error codes do not cover. */
/** Whether the browser reached us over TLS (directly, or per a trusted proxy's X-Forwarded-Proto). */
function isTls(req: GatewayRequest): boolean {
  return (req as unknown as Request).secure === true;
}

function pick(headers: Readonly<Record<string, string>>, name: string): Record<string, string> {
  return headers[name] === undefined ? {} : { [name]: headers[name] };
}
