import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DASHBOARD_JS } from './public/dashboard.client.js';
import { DASHBOARD_CSS } from './public/dashboard.css.js';
import { type PageAssets } from './public/page.html.js';

/** A static file the dashboard serves. */
export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
}

/** Versioned URLs never change content: browsers may keep them a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

function hash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12);
}

/**
 * The page's own script and stylesheet (compiled into the bundle as strings, so `dist/`
 * needs no extra files) and Chart.js, read from `node_modules` at run time. Each URL carries
 * its content's version, so they are cached as immutable; the pages themselves are not.
 */
export class DashboardAssets {
  readonly css: Asset = {
    body: Buffer.from(DASHBOARD_CSS),
    contentType: 'text/css; charset=utf-8',
    cacheControl: IMMUTABLE,
  };
  readonly js: Asset = {
    body: Buffer.from(DASHBOARD_JS),
    contentType: 'text/javascript; charset=utf-8',
    cacheControl: IMMUTABLE,
  };
  private chartAsset: Asset | null = null;
  private chartVersion: string | null = null;

  /** Chart.js's UMD build from node_modules (read once). @throws when chart.js is not installed */
  get chart(): Asset {
    this.loadChart();
    return this.chartAsset!;
  }

  /** The URLs the page links, each with its version. */
  get urls(): PageAssets {
    this.loadChart();
    return {
      css: `/dashboard/assets/dashboard.css?v=${hash(this.css.body)}`,
      js: `/dashboard/assets/dashboard.js?v=${hash(this.js.body)}`,
      chart: `/dashboard/assets/chart.umd.min.js?v=${this.chartVersion}`,
    };
  }

  private loadChart(): void {
    if (this.chartAsset) return;
    // Resolved from where this code runs (the bundler would freeze import.meta.url at build
    // time; filename stays live). The package exports only its module entries: find the dist
    // folder from the CommonJS one.
    const dist = dirname(createRequire(import.meta.filename).resolve('chart.js'));
    const body = readFileSync(join(dist, 'chart.umd.min.js'));
    const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version?: string };
    this.chartVersion = pkg.version ?? hash(body);
    this.chartAsset = { body, contentType: 'text/javascript; charset=utf-8', cacheControl: IMMUTABLE };
  }
}
