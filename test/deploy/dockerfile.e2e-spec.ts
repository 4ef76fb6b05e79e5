import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { type Instruction, DockerfileParser } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { ROOT, readText, run, tool } from './deploy-helpers.js';

/* The Dockerfile through a linter: dockerfile-utils (the validator behind the VS Code Docker
 * extension; every check at error level), hadolint's main rules written out below over
 * dockerfile-ast, and shellcheck over every RUN, as hadolint does. Then the health probe
 * against real sockets, and the runtime stage's contents against what the bundles import. */

const TEXT = readText('Dockerfile');
const dockerfile = DockerfileParser.parse(TEXT);
const instructions = dockerfile.getInstructions();
const ALL_ERRORS: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

const lint = (text: string) => validate(text, ALL_ERRORS).map((d) => `${d.range.start.line + 1}: ${d.message}`);
const byKeyword = (keyword: string) => instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArgumentsContent() ?? '';
/** The ARG defaults declared before the first FROM: what `${NODE_IMAGE}` means in a FROM. */
const globalArgs = Object.fromEntries(
  instructions
    .slice(
      0,
      instructions.findIndex((i) => i.getKeyword() === 'FROM'),
    )
    .map((i) => args(i).split('='))
    .map(([k, v]) => [k!, v ?? '']),
);
const stages = dockerfile.getFROMs();
const finalStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]!));

describe('Dockerfile lint', () => {
  it('passes dockerfile-utils with every check at error level', () => {
    expect(lint(TEXT)).toEqual([]);
  });

  it('the linter can fail: a relative WORKDIR, an unknown flag and an unknown instruction are reported', () => {
    const broken = TEXT.replace('WORKDIR /app', 'WORKDIR app')
      .replace('HEALTHCHECK --interval', 'HEALTHCHECK --intervall')
      .replace('USER 1000:1000', 'USRE 1000:1000');
    const problems = lint(broken).join('\n');
    expect(problems).toMatch(/WORKDIR paths should be absolute/);
    expect(problems).toMatch(/Unknown flag: intervall/);
    expect(problems).toMatch(/Unknown instruction: USRE/);
  });

  it('DL3006/DL3007: every base image has an explicit tag, not latest; Node 24 LTS on Debian slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) {
      const image = from.getImage()!.replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs[name] ?? '');
      expect(image).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(image).not.toMatch(/:latest$/);
      expect(image).toMatch(/^node:24-bookworm-slim$/);
    }
    expect(stages.map((s) => s.getBuildStage())).toEqual(['build', 'runtime']);
  });

  it('DL3002: the final stage runs as a numeric non-root user', () => {
    const users = finalStage.filter((i) => i.getKeyword() === 'USER');
    const uid = args(users[users.length - 1]!).split(':')[0]!;
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
  });

  it('DL3025: CMD, ENTRYPOINT and HEALTHCHECK in exec (JSON) form; tini is PID 1', () => {
    for (const keyword of ['CMD', 'ENTRYPOINT']) {
      const found = finalStage.filter((i) => i.getKeyword() === keyword);
      expect(found).toHaveLength(1);
      expect(() => JSON.parse(args(found[0]!))).not.toThrow();
    }
    expect(JSON.parse(args(byKeyword('ENTRYPOINT')[0]!))).toEqual(['/usr/bin/tini', '--']);
    const health = args(byKeyword('HEALTHCHECK')[0]!);
    expect(JSON.parse(health.replace(/^CMD\s+/, ''))).toEqual(['node', '/app/healthcheck.mjs']);
  });

  it('DL3008/DL3009/DL3015: apt-get installs are pinned, without recommends, and clean their lists', () => {
    const apt = byKeyword('RUN')
      .map(args)
      .filter((a) => a.includes('apt-get install'));
    expect(apt.length).toBeGreaterThan(0);
    for (const a of apt) {
      expect(a).toMatch(/apt-get install -y --no-install-recommends/);
      expect(a).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
      const packages = a.split('--no-install-recommends')[1]!.split('&&')[0]!.trim().split(/\s+/);
      for (const p of packages) expect(p).toMatch(/^[a-z0-9.+-]+=[\w.:+~-]+$/);
    }
  });

  it('DL3020 and friends: COPY not ADD, no curl or wget, no sudo, COPY --from names an earlier stage', () => {
    expect(byKeyword('ADD')).toEqual([]);
    for (const r of byKeyword('RUN').map(args)) expect(r).not.toMatch(/\b(curl|wget|sudo)\b/);
    const names = stages.map((s) => s.getBuildStage());
    for (const copy of dockerfile.getCOPYs()) {
      const from = copy.getFlags().find((f) => f.getName() === 'from');
      if (from) expect(names.slice(0, -1)).toContain(from.getValue());
    }
  });

  it('builds with npm ci, then npm run build, then npm prune --omit=dev; selects the app by build arg', () => {
    const runs = byKeyword('RUN').map(args);
    const at = (needle: string) => runs.findIndex((r) => r.includes(needle));
    expect(at('npm ci')).toBeGreaterThanOrEqual(0);
    expect(at('npm ci')).toBeLessThan(at('npm run build'));
    expect(at('npm run build')).toBeLessThanOrEqual(at('npm prune --omit=dev'));
    expect(finalStage.some((i) => i.getKeyword() === 'ARG' && args(i) === 'APP=gateway')).toBe(true);
    expect(finalStage.filter((i) => i.getKeyword() === 'COPY').map(args)).toContain(
      '/app/dist/apps/${APP} ./dist/apps/${APP}',
    );
  });

  it('every RUN passes shellcheck (sh), as hadolint checks them', () => {
    const shellcheck = tool('shellcheck');
    for (const r of byKeyword('RUN').map(args)) {
      const script = `#!/bin/sh\n${r.replace(/\\\n/g, ' ')}\n`;
      const result = run(shellcheck, ['-s', 'sh', '-'], { input: script });
      expect([r, result.stdout]).toEqual([r, '']);
    }
  });
});

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  /** Docker's matching for the patterns used here: `*` within a segment, `**` across, `!` re-includes. */
  const ignored = (path: string) => {
    let result = false;
    for (const raw of patterns) {
      const negate = raw.startsWith('!');
      const p = negate ? raw.slice(1) : raw;
      const source = p
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/'
            ? '(?:.*/)?'
            : part === '**'
              ? '.*'
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^$()|[\]{}\\]/g, '\\$&'),
        )
        .join('');
      const re = new RegExp(`^${source}(?:/.*)?$`);
      if (re.test(path)) result = !negate;
    }
    return result;
  };

  it('keeps secrets, VCS data, dependencies and build output out of the context', () => {
    for (const path of [
      '.git/config',
      'node_modules/x/index.js',
      'apps/gateway/node_modules/x',
      'dist/apps/gateway/main.js',
      '.env.prod',
      'secrets/api-keys',
      'k8s/base/kustomization.yaml',
      'test/deploy/x.ts',
      'apps/gateway/src/main.spec.ts',
    ]) {
      expect([path, ignored(path)]).toEqual([path, true]);
    }
  });

  it('keeps everything the build copies', () => {
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'nest-cli.json',
      'apps/gateway/src/main.ts',
      'libs/config/src/index.ts',
      'deploy/docker/healthcheck.mjs',
    ];
    for (const path of needed) {
      expect([path, existsSync(join(ROOT, path)), ignored(path)]).toEqual([path, true, false]);
    }
  });
});

describe('the image health probe (deploy/docker/healthcheck.mjs)', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  });

  /** A real HTTP server on a free loopback port answering `path` with `status` (404 elsewhere). */
  async function serve(path: string, status: number): Promise<number> {
    const server = createServer((req, res) => {
      res.statusCode = req.url === path ? status : 404;
      res.end();
    });
    servers.push(server);
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    return (server.address() as AddressInfo).port;
  }

  /** Runs the probe as the image does, asynchronously: the servers above answer from this process. */
  const probe = (env: Record<string, string>) =>
    new Promise<{ status: number; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [join(ROOT, 'deploy/docker/healthcheck.mjs')],
        { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 },
        (err, _stdout, stderr) => done({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
      );
    });

  it('gateway: 2xx on /health/live of MANAGEMENT_PORT is healthy, and MANAGEMENT_PORT wins over PORT', async () => {
    const live = await serve('/health/live', 200);
    const other = await serve('/nothing', 200);
    expect((await probe({ APP: 'gateway', PORT: String(other), MANAGEMENT_PORT: String(live) })).status).toBe(0);
    expect((await probe({ APP: 'gateway', PORT: String(live) })).status).toBe(0);
    expect((await probe({ APP: 'gateway', PORT: String(other), MANAGEMENT_PORT: String(other) })).status).toBe(1);
  });

  it('gateway: 503, or nothing listening, is unhealthy', async () => {
    const down = await serve('/health/live', 503);
    const result = await probe({ APP: 'gateway', PORT: String(down) });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/answered 503/);
    const closed = await serve('/health/live', 200);
    await new Promise((done) => servers.pop()!.close(done));
    expect((await probe({ APP: 'gateway', PORT: String(closed) })).status).toBe(1);
  });

  it('flaky-upstream: /health on PORT', async () => {
    const port = await serve('/health', 200);
    expect((await probe({ APP: 'flaky-upstream', PORT: String(port) })).status).toBe(0);
    const gatewayOnly = await serve('/health/live', 200);
    expect((await probe({ APP: 'flaky-upstream', PORT: String(gatewayOnly) })).status).toBe(1);
  });
});

describe('the runtime stage', () => {
  it('holds every package the app bundles import: they are in the production dependency tree (what npm prune --omit=dev keeps)', () => {
    const prodTree = run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { timeoutMs: 60_000 });
    const kept = new Set(
      prodTree.stdout
        .split('\n')
        .filter((p) => p.includes('node_modules'))
        .map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)),
    );
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const app of ['gateway', 'flaky-upstream']) {
      const dir = join(ROOT, 'dist/apps', app);
      if (!existsSync(join(dir, 'main.js')))
        throw new Error(`dist/apps/${app}/main.js is missing: npm run build first`);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
        const code = readText(`dist/apps/${app}/${file}`);
        const imported = [
          ...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["']((?:@[\w.-]+\/)?[\w.:-]+(?:\/[\w./-]+)?)["']/g),
        ].map((m) => m[1]!);
        expect(imported.length).toBeGreaterThan(0);
        const packages = imported
          // Relative specifiers are the bundle's own chunks (dist/), not packages.
          .filter((s) => !s.startsWith('.') && !builtins.has(s.split('/')[0]!) && !builtins.has(s))
          .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
        expect([app, file, packages.filter((p) => !kept.has(p))]).toEqual([app, file, []]);
      }
    }
  });
});
