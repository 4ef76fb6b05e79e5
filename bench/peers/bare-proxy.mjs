// "bare Node proxy": node:http + an undici Pool, nothing else: the limit for any Node gateway.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const pool = new Pool(process.env.UPSTREAM_URL, { connections: 128, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);
const strip = (h) => Object.fromEntries(Object.entries(h).filter(([k]) => !HOP.has(k)));

const server = createServer(async (req, res) => {
  try {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const up = await pool.request({
      path: req.url,
      method: req.method,
      headers: strip(req.headers),
      body: hasBody ? req : undefined,
    });
    res.writeHead(up.statusCode, strip(up.headers));
    pipeline(up.body, res, () => {});
  } catch {
    res.writeHead(502).end();
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
