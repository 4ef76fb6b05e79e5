import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, readText, run, tool } from './deploy-helpers.js';

/* deploy.sh: clean under shellcheck (with scripts/*.sh), and its dry runs work here, where
 * there is neither a Docker engine nor a cluster. A real run stops at preflight when the
 * settings are not filled in: it changes nothing. */

const DEPLOY = join(ROOT, 'deploy.sh');
/** A plain environment: no kube context or image settings leak in from the caller. */
const ENV = {
  PATH: [dirname(tool('kustomize')), process.env.PATH].join(':'),
  HOME: process.env.HOME,
  ROLLOUT_TIMEOUT: '120s',
  // No cluster of the caller's is ever asked anything.
  KUBECONFIG: '/nonexistent/kubeconfig',
};
const deploy = (...args: string[]) => run('bash', [DEPLOY, ...args], { env: ENV, timeoutMs: 30_000 });
/** The files a dry run must leave exactly as they were. */
const digest = () =>
  createHash('sha256')
    .update(readText('.env.prod'))
    .update(
      readdirSync(join(ROOT, 'k8s/overlays'))
        .map((o) => readText(`k8s/overlays/${o}/kustomization.yaml`))
        .join('\n'),
    )
    .digest('hex');

describe('shellcheck', () => {
  it('passes on deploy.sh and scripts/*.sh', () => {
    const scripts = [
      'deploy.sh',
      ...readdirSync(join(ROOT, 'scripts'))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => `scripts/${f}`),
    ];
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    const result = run(tool('shellcheck'), ['--severity=style', ...scripts]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('finds a problem when there is one (it can fail)', () => {
    const result = run(tool('shellcheck'), ['-s', 'bash', '-'], { input: '#!/bin/bash\nrm -rf $1/*\n' });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/SC2115|SC2086/);
  });

  it('deploy.sh is strict and executable', () => {
    expect(readText('deploy.sh')).toMatch(/^#!\/usr\/bin\/env bash\n[\s\S]*^set -euo pipefail$/m);
    expect(run('test', ['-x', DEPLOY]).status).toBe(0);
  });
});

describe('deploy.sh compose --dry-run', () => {
  it('prints the deploy, the health wait and the rollback, reports preflight problems, changes nothing', () => {
    const before = digest();
    const r = deploy('compose', '--dry-run', '--tag', 'abc1234');
    expect([r.status, r.stderr]).toEqual([0, expect.any(String)]);
    const out = r.stdout;
    expect(out).toContain(
      '+ BREAKWATER_TAG=abc1234 docker compose --env-file .env.prod -f docker-compose.prod.yml pull gateway',
    );
    expect(out).toContain(
      '+ BREAKWATER_TAG=abc1234 docker compose --env-file .env.prod -f docker-compose.prod.yml up -d --wait --wait-timeout 120',
    );
    expect(out).toMatch(/GET \/health\/ready/);
    expect(out).toContain('+ set BREAKWATER_TAG=abc1234 in .env.prod');
    expect(out).toMatch(/would roll back[\s\S]*\+ BREAKWATER_TAG=<running tag> docker compose .* up -d --wait/);
    expect(out).toContain('dry run done: nothing was changed');
    // The placeholders in the committed .env.prod: reported, not fatal, in a dry run.
    expect(r.stderr).toMatch(
      /preflight: .*\.env\.prod still has CHANGE_ME placeholders: BREAKWATER_TAG,REDIS_PASSWORD,ADMIN_API_KEY/,
    );
    expect(out).toMatch(/a real run would stop here/);
    expect(digest()).toBe(before);
  });

  it('reads the env file given, and is clean when it is filled in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-deploy-'));
    try {
      const filled = readText('.env.prod')
        .replace(/CHANGE_ME[\w-]*/g, 'filled0123456789')
        .replace(/^BREAKWATER_TAG=.*$/m, 'BREAKWATER_TAG=v1.2.3');
      writeFileSync(join(dir, 'env'), filled);
      const r = deploy('compose', '--dry-run', '--env-file', join(dir, 'env'));
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('+ BREAKWATER_TAG=v1.2.3 docker compose');
      expect(r.stderr).not.toMatch(/CHANGE_ME/);
      expect(readFileSync(join(dir, 'env'), 'utf8')).toBe(filled);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy.sh k8s --dry-run', () => {
  it('staging: sets the tag in a copy, server-side dry run, apply, rollout wait, smoke test, rollback; changes nothing', () => {
    const before = digest();
    const r = deploy('k8s', 'staging', '--dry-run', '--tag', 'abc1234');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain('namespace breakwater-staging, image tag abc1234');
    expect(out).toContain('kustomize edit set image breakwater-gateway=ghcr.io/your-org/breakwater/gateway:abc1234');
    // The manifests it would apply, built for real: the new tag is in the Deployment.
    expect(out).toMatch(/Deployment\/breakwater-gateway\n\s+image ghcr\.io\/your-org\/breakwater\/gateway:abc1234/);
    expect(out).toMatch(/\+ kubectl apply -k \S+\/k8s\/overlays\/staging --dry-run=server/);
    expect(out).toMatch(/\+ kubectl apply -k \S+\/k8s\/overlays\/staging\n/);
    expect(out).toContain('+ kubectl -n breakwater-staging rollout status statefulset/breakwater-redis --timeout=120s');
    expect(out).toContain(
      '+ kubectl -n breakwater-staging rollout status deployment/breakwater-gateway --timeout=120s',
    );
    expect(out).toMatch(
      /port-forward deploy\/breakwater-gateway 19090:management; curl http:\/\/127\.0\.0\.1:19090\/health\/ready/,
    );
    expect(out).toMatch(
      /would roll back:\n\+ kubectl -n breakwater-staging rollout undo deployment\/breakwater-gateway/,
    );
    expect(digest()).toBe(before);
  });

  it('production: demands an explicit kube context; passes it to every kubectl', () => {
    const without = deploy('k8s', 'production', '--dry-run');
    expect(without.status).toBe(0);
    expect(without.stderr).toMatch(/production needs an explicit --context/);
    const withContext = deploy('k8s', 'production', '--dry-run', '--context', 'prod-cluster', '--tag', 'def5678');
    expect(withContext.stdout).toContain(
      '+ kubectl --context prod-cluster -n breakwater rollout status deployment/breakwater-gateway',
    );
    expect(withContext.stdout).toContain('image ghcr.io/your-org/breakwater/gateway:def5678');
  });

  it('demo: sets both images', () => {
    const r = deploy('k8s', 'demo', '--dry-run', '--tag', 'abc1234');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('image ghcr.io/your-org/breakwater/flaky-upstream:abc1234');
    expect(r.stdout).toContain('namespace breakwater-demo');
  });
});

describe('deploy.sh refuses', () => {
  it('a real run with the placeholder settings stops at preflight with exit 1 and changes nothing', () => {
    const before = digest();
    const r = deploy('compose');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/CHANGE_ME placeholders/);
    expect(r.stderr).toMatch(/preflight failed: \d+ problem\(s\), nothing was changed/);
    expect(r.stdout).not.toMatch(/^\+ /m);
    expect(digest()).toBe(before);
  });

  it('a real production run without a context stops at preflight', () => {
    const r = deploy('k8s', 'production');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/production needs an explicit --context/);
    expect(r.stdout).not.toMatch(/^\+ /m);
  });

  it.each([
    [['k8s', 'qa'], /unknown environment 'qa'/],
    [['swarm'], /unknown target 'swarm'/],
    [['compose', '--tag', 'latest'], /--tag latest is refused/],
    [['compose', '--tag', 'a b'], /not a valid image tag/],
    [['k8s'], /needs an environment/],
    [['compose', '--bogus'], /unknown option '--bogus'/],
  ])('usage errors exit 2: %j', (args, message) => {
    const r = deploy(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('--help prints the usage and exits 0', () => {
    const r = deploy('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/deploy\.sh compose \[--tag TAG\]/);
    expect(r.stdout).toMatch(/deploy\.sh k8s staging\|production\|demo/);
  });
});
