// Container health probe (Dockerfile HEALTHCHECK, Compose healthchecks). Slim images have no
// curl, so this is node's own fetch. Exit 0 = healthy, 1 = not.
//   gateway:        GET /health/live on MANAGEMENT_PORT when set, else on PORT (default 8080)
//   flaky-upstream: GET /health on PORT (default 8001)
// With TLS_CERT_FILE and TLS_KEY_FILE set the gateway listens with HTTPS; the probe then speaks
// HTTPS to itself without verifying the certificate (it may be issued for another name).
import { request } from 'node:https';

const app = process.env.APP ?? 'gateway';
const gateway = app === 'gateway';
const port = gateway ? process.env.MANAGEMENT_PORT || process.env.PORT || '8080' : process.env.PORT || '8001';
const path = gateway ? '/health/live' : '/health';
const tls = gateway && Boolean(process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE);
const timeoutMs = 2000;

function viaHttps() {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function viaFetch() {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  return res.status;
}

try {
  const status = tls ? await viaHttps() : await viaFetch();
  if (status >= 200 && status < 300) process.exit(0);
  console.error(`healthcheck: ${path} answered ${status}`);
} catch (err) {
  console.error(`healthcheck: ${path} on port ${port}: ${err instanceof Error ? err.message : String(err)}`);
}
process.exit(1);
