import { Script } from 'node:vm';
import { DASHBOARD_JS } from './dashboard.client.js';
import { escapeHtml, renderDashboardPage, renderLoginPage } from './page.html.js';

const assets = {
  css: '/dashboard/assets/dashboard.css?v=1',
  js: '/dashboard/assets/dashboard.js?v=1',
  chart: '/dashboard/assets/chart.umd.min.js?v=4',
};

describe('dashboard page', () => {
  it('ships a browser script that parses', () => {
    expect(() => new Script(DASHBOARD_JS)).not.toThrow();
  });

  it('shows the drill only when enabled', () => {
    expect(renderDashboardPage({ assets, drill: true, signedIn: false })).toContain('Run circuit breaker test');
    expect(renderDashboardPage({ assets, drill: false, signedIn: false })).not.toContain('Run circuit breaker test');
  });

  it('has no inline script or style (the CSP allows only our files)', () => {
    const html =
      renderDashboardPage({ assets, drill: true, signedIn: true }) + renderLoginPage({ css: assets.css, error: 'x' });
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('escapes what it prints', () => {
    expect(escapeHtml(`<a href="x">'&`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
    expect(renderLoginPage({ css: assets.css, error: '<b>' })).toContain('&#60;b&#62;');
  });
});
