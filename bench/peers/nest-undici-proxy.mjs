// "Nest + undici proxy": a bare Nest controller forwarding with an undici Pool and streaming the
// answer back; no guards, interceptors, metrics or logs. Breakwater's policies are measured against it.
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { serveNest } from './nest-app.mjs';

const pool = new Pool(process.env.UPSTREAM_URL, { connections: 128, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

function strip(headers) {
  const out = {};
  for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
  return out;
}

await serveNest('UndiciProxy', 'all', async function proxy(req, res) {
  try {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const up = await pool.request({
      path: req.originalUrl,
      method: req.method,
      headers: strip(req.headers),
      body: hasBody ? req : undefined,
    });
    res.writeHead(up.statusCode, strip(up.headers));
    pipeline(up.body, res, () => {});
  } catch {
    res.status(502).end();
  }
});
