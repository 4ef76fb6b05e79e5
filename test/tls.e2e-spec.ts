// TLS listener (issue 7, CONTRACT §2): HTTPS from TLS_CERT_FILE/TLS_KEY_FILE, certificate rotation
// by a Secret-style symlink swap without dropping open connections, bad pairs refused, and
// start-up refusals naming the variable.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { Agent } from 'undici';
import {
  baseEnv,
  builtFile,
  type FlakyProc,
  freePort,
  type GatewayProc,
  ManagedProcess,
  onCleanup,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';

jest.setTimeout(30_000);

interface Pair {
  cert: string;
  key: string;
  fingerprint: string;
}

let work: string;
let flaky: FlakyProc;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'bw-tls-'));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  flaky = await startFlaky();
}, 30_000);

let serial = 0;
/** A self-signed P-256 certificate for 127.0.0.1, made with openssl. */
function makePair(cn: string): Pair {
  const dir = join(work, `pair-${++serial}`);
  mkdirSync(dir);
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' }); // prettier-ignore
  return {
    cert: readFileSync(cert, 'utf8'),
    key: readFileSync(key, 'utf8'),
    fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256,
  };
}

/** A folder laid out like a mounted Kubernetes Secret: `tls.crt` → `..data/tls.crt`, `..data` → a timestamped folder. */
class SecretMount {
  readonly dir = mkdtempSync(join(work, 'secret-'));
  private current: string | null = null;
  private n = 0;

  constructor(first: { cert: string; key: string }) {
    this.publish(first);
    symlinkSync('..data/tls.crt', join(this.dir, 'tls.crt'));
    symlinkSync('..data/tls.key', join(this.dir, 'tls.key'));
  }

  get certFile(): string {
    return join(this.dir, 'tls.crt');
  }

  get keyFile(): string {
    return join(this.dir, 'tls.key');
  }

  /** What the kubelet does on a Secret update (cert-manager renewal): new folder, atomic `..data` swap. */
  publish(pair: { cert: string; key: string }): void {
    const stamp = `..2025_01_01_00_00_00.${String(++this.n).padStart(9, '0')}`;
    mkdirSync(join(this.dir, stamp));
    writeFileSync(join(this.dir, stamp, 'tls.crt'), pair.cert);
    writeFileSync(join(this.dir, stamp, 'tls.key'), pair.key);
    symlinkSync(stamp, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.current) rmSync(join(this.dir, this.current), { recursive: true });
    this.current = stamp;
  }
}

/** Opens a TLS connection and resolves it once the handshake is done. */
function tlsConnect(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(socket));
    socket.once('error', reject);
    onCleanup(() => socket.destroy());
  });
}

async function servedFingerprint(port: number): Promise<string> {
  const socket = await tlsConnect(port);
  const fp = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fp;
}

/** One HTTP/1.1 keep-alive request on an open socket; resolves the status line. */
function exchange(socket: TLSSocket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (buf.length - end - 4 < length) return;
      socket.off('data', onData);
      resolve(buf.slice(0, buf.indexOf('\r\n')));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`connection closed; received: ${buf.slice(0, 200)}`)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
  });
}

function startTlsGateway(certFile: string, keyFile: string): Promise<GatewayProc> {
  return startGateway({
    routes: { services: { flaky: { instances: [flaky.url] } } },
    env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, RATE_LIMIT_ENABLED: 'false', SHUTDOWN_DRAIN_MS: '300' },
  });
}

async function untilServed(port: number, fingerprint: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await servedFingerprint(port);
    if (last === fingerprint) return;
    await sleep(25);
  }
  throw new Error(`still serving ${last}`);
}

describe('HTTPS listener', () => {
  it('serves HTTPS with the configured certificate', async () => {
    const pair = makePair('first');
    const mount = new SecretMount(pair);
    const gw = await startTlsGateway(mount.certFile, mount.keyFile);
    const agent = new Agent({ connect: { ca: pair.cert } });
    onCleanup(() => agent.close());
    const res = await request(`https://127.0.0.1:${gw.port}/v1/proxy/flaky/ok`, { dispatcher: agent });
    expect(res.status).toBe(200);
    expect(await servedFingerprint(gw.port)).toBe(pair.fingerprint);
    // Plain HTTP on the TLS port is not served.
    await expect(request(`http://127.0.0.1:${gw.port}/health/live`, { timeoutMs: 2000 })).rejects.toThrow();
  });

  it('serves a rotated certificate to new connections and keeps open ones, refusing a bad pair', async () => {
    const first = makePair('first');
    const mount = new SecretMount(first);
    const gw = await startTlsGateway(mount.certFile, mount.keyFile);
    const open = await tlsConnect(gw.port);
    expect(await exchange(open, '/health/live')).toBe('HTTP/1.1 200 OK');

    const second = makePair('second');
    mount.publish(second);
    await untilServed(gw.port, second.fingerprint);
    // The log line is written asynchronously: it may land just after the new certificate is served.
    const logged = () => gw.logs().some((l) => l.event === 'tls_reloaded' && l.fingerprint256 === second.fingerprint);
    for (let i = 0; i < 50 && !logged(); i++) await sleep(20);
    expect(logged()).toBe(true);
    // The connection opened before the rotation is still up, on its old certificate.
    expect(await exchange(open, '/health/live')).toBe('HTTP/1.1 200 OK');
    expect(open.getPeerCertificate().fingerprint256).toBe(first.fingerprint);
    const agent = new Agent({ connect: { ca: second.cert } });
    onCleanup(() => agent.close());
    expect((await request(`https://127.0.0.1:${gw.port}/v1/proxy/flaky/ok`, { dispatcher: agent })).status).toBe(200);

    // A certificate with someone else's key: refused, logged, the second pair stays.
    const third = makePair('third');
    mount.publish({ cert: third.cert, key: second.key });
    await gw.process.waitForLine(/tls_reload_failed/, 5000);
    expect(await servedFingerprint(gw.port)).toBe(second.fingerprint);
    // Then a good pair is taken again.
    mount.publish(third);
    await untilServed(gw.port, third.fingerprint);
    open.destroy();
  });
});

describe('start-up', () => {
  async function startExpectingExit(env: Record<string, string>): Promise<{ code: number; output: string }> {
    const routes = join(work, 'routes.yaml');
    writeFileSync(routes, 'services: {}\n');
    const p = new ManagedProcess(process.execPath, [builtFile('dist/apps/gateway/main.js')], {
      name: 'gateway-tls',
      env: baseEnv({ PORT: String(await freePort()), HOST: '127.0.0.1', GATEWAY_CONFIG: routes, ...env }),
    });
    const code = await p.exited;
    return { code, output: p.output() };
  }

  it('exits 1 naming TLS_CERT_FILE when the certificate file is missing', async () => {
    const pair = makePair('x');
    const keyFile = join(work, 'only.key');
    writeFileSync(keyFile, pair.key);
    const { code, output } = await startExpectingExit({
      TLS_CERT_FILE: join(work, 'missing.crt'),
      TLS_KEY_FILE: keyFile,
    });
    expect(code).toBe(1);
    expect(output.trim()).toMatch(
      /^config error: TLS_CERT_FILE: ".*missing\.crt": file does not exist; expected a readable file$/,
    );
  });

  it('exits 1 naming the variable when a file is not a certificate, the key does not match, or a file cannot be read', async () => {
    const pair = makePair('y');
    const other = makePair('z');
    const garbage = join(work, 'garbage.crt');
    writeFileSync(garbage, 'not a certificate');
    const keyFile = join(work, 'y.key');
    writeFileSync(keyFile, pair.key);
    const bad = await startExpectingExit({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: keyFile });
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/TLS_CERT_FILE: ".*garbage\.crt": not a PEM certificate/);
    const certFile = join(work, 'z.crt');
    writeFileSync(certFile, other.cert);
    const mismatch = await startExpectingExit({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
    expect(mismatch.code).toBe(1);
    expect(mismatch.output).toMatch(/TLS_KEY_FILE: ".*y\.key": not a private key matching TLS_CERT_FILE/);
    // Unreadable (a folder: readable to access(2), not to read(2), whoever runs the test).
    const unreadable = await startExpectingExit({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: work });
    expect(unreadable.code).toBe(1);
    expect(unreadable.output).toMatch(/TLS_KEY_FILE: ".*": cannot be read \(EISDIR\)/);
  });
});
