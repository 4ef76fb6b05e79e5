import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, readText, readYaml, run, tool } from './deploy-helpers.js';

/* The GitHub Actions pipeline: actionlint (with shellcheck over the run: scripts) and the
 * shape issue 9 asks for — triggers, least-privilege permissions, pinned actions,
 * concurrency, the Debian test container, GHCR images by SHA, staging and production deploys. */

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | boolean>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  'runs-on': string;
  container?: { image: string };
  strategy?: { matrix: Record<string, string[]> };
  permissions?: Record<string, string>;
  environment?: { name: string; url?: string };
  concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  'timeout-minutes'?: number;
  steps: Step[];
}
interface Workflow {
  on: { pull_request: unknown; push: { branches: string[] } };
  permissions: Record<string, string>;
  concurrency: { group: string };
  jobs: Record<string, Job>;
}

const WORKFLOW_DIR = join(ROOT, '.github/workflows');
const workflow = readYaml<Workflow>('.github/workflows/ci.yml');
const { jobs } = workflow;
const actionlint = (cwd: string, files: string[] = []) =>
  run(tool('actionlint'), ['-shellcheck', tool('shellcheck'), '-no-color', ...files], {
    cwd,
    env: { ...process.env, PATH: [dirname(tool('shellcheck')), process.env.PATH].join(':') },
  });
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

describe('GitHub Actions workflows', () => {
  it('pass actionlint (shellcheck included)', () => {
    const files = readdirSync(WORKFLOW_DIR).map((f) => `.github/workflows/${f}`);
    expect(files).toContain('.github/workflows/ci.yml');
    const result = actionlint(ROOT, files);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('actionlint finds a problem when there is one (it can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-actionlint-'));
    try {
      mkdirSync(join(dir, '.github/workflows'), { recursive: true });
      writeFileSync(
        join(dir, '.github/workflows/bad.yml'),
        'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.head_commit.message }}\n      - uses: actions/checkout@v4\n        with: { nope: 1 }\n',
      );
      const result = actionlint(dir, ['.github/workflows/bad.yml']);
      expect(result.status).not.toBe(0);
      expect(result.stdout).toMatch(/potentially untrusted/);
      expect(result.stdout).toMatch(/input "nope" is not defined/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the pipeline (.github/workflows/ci.yml)', () => {
  it('runs on pull requests and on pushes to develop and main', () => {
    expect(workflow.on.pull_request).toBeNull();
    expect(workflow.on.push.branches).toEqual(['develop', 'main']);
  });

  it('is least-privilege: read-only by default, packages: write only where images are pushed', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(jobs)) {
      const expected = name === 'images' ? { contents: 'read', packages: 'write' } : undefined;
      expect([name, job.permissions]).toEqual([name, expected]);
    }
  });

  it('pins every action to a full commit SHA', () => {
    const uses = Object.values(jobs).flatMap((j) => j.steps.map((s) => s.uses).filter((u): u is string => Boolean(u)));
    expect(uses.length).toBeGreaterThan(5);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
  });

  it('has concurrency groups for the runs and for each deployment', () => {
    expect(workflow.concurrency.group).toContain('github.ref');
    for (const name of ['deploy-staging', 'deploy-production']) {
      expect(jobs[name]!.concurrency).toEqual({ group: name, 'cancel-in-progress': false });
    }
  });

  it('lints and runs npm test in a node:20-bookworm container, with a Node 24 job beside it', () => {
    const test = jobs.test!;
    expect(test.container!.image).toBe('node:${{ matrix.node }}-bookworm');
    expect(test.strategy!.matrix.node).toEqual(['20', '24']);
    expect(runs(test)).toMatch(/npm ci[\s\S]*npm run lint[\s\S]*npm run build[\s\S]*npm test/);
    // Go for the tools scripts/ensure-tools.sh installs with go install (kustomize, actionlint).
    expect(test.steps.some((s) => s.uses?.startsWith('actions/setup-go@'))).toBe(true);
  });

  it('builds both images with buildx and its cache, and pushes them to GHCR tagged by commit SHA', () => {
    const images = jobs.images!;
    expect(images.needs).toBe('test');
    expect(images.strategy!.matrix.app).toEqual(['gateway', 'flaky-upstream']);
    expect(images.steps.some((s) => s.uses?.startsWith('docker/setup-buildx-action@'))).toBe(true);
    const login = images.steps.find((s) => s.uses?.startsWith('docker/login-action@'))!;
    expect(login.with!.registry).toBe('ghcr.io');
    const build = images.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))!;
    expect(build.with!.tags).toMatch(/^\$\{\{ steps\.image\.outputs\.name \}\}:\$\{\{ github\.sha \}\}$/);
    expect(runs(images)).toContain('ghcr.io/${GITHUB_REPOSITORY,,}/${{ matrix.app }}');
    expect(build.with!['cache-from']).toMatch(/^type=gha/);
    expect(build.with!['cache-to']).toMatch(/^type=gha,mode=max/);
    expect(build.with!['build-args']).toMatch(/APP=\$\{\{ matrix\.app \}\}/);
    expect(build.with!.push).toBe("${{ github.event_name == 'push' }}");
  });

  it('deploys develop to staging with deploy.sh (kubectl apply -k, rollout wait, smoke test, rollback)', () => {
    const job = jobs['deploy-staging']!;
    expect(job.needs).toBe('images');
    expect(job.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/develop'");
    expect(job.environment!.name).toBe('staging');
    expect(runs(job)).toMatch(/\.\/deploy\.sh k8s staging --tag "\$GITHUB_SHA"/);
    expect(runs(job)).toMatch(/go install "\$KUSTOMIZE_MODULE"/);
    expect(job.steps.some((s) => /smoke/i.test(JSON.stringify(s)))).toBe(true);
  });

  it('deploys main to production behind the production environment (required approval)', () => {
    const job = jobs['deploy-production']!;
    expect(job.needs).toBe('images');
    expect(job.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(job.environment!.name).toBe('production');
    expect(runs(job)).toMatch(/\.\/deploy\.sh k8s production --tag "\$GITHUB_SHA" --context "\$KUBE_CONTEXT"/);
  });

  it('installs the same kustomize as scripts/ensure-tools.sh', () => {
    const pinned = /KUSTOMIZE_VERSION="([^"]+)"/.exec(readText('scripts/ensure-tools.sh'))![1];
    const env = (workflow as unknown as { env: Record<string, string> }).env;
    expect(env.KUSTOMIZE_MODULE).toBe(`sigs.k8s.io/kustomize/kustomize/v5@${pinned}`);
  });
});
