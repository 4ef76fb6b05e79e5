import { createServer } from 'node:net';

/**
 * Whether `port` can be bound on `host` right now (it is bound, then released).
 *
 * @default host `127.0.0.1`
 */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that is free on `127.0.0.1` now: binds port 0, reads the port the kernel chose, releases it.
 * Another process could take it before you bind it; the start helpers retry once when that happens.
 *
 * @param options.max only ports ≤ max (e.g. 55535 for Redis Cluster, whose bus port is port + 10000)
 * @example const port = await freePort();
 */
export async function freePort(options: { max?: number; host?: string } = {}): Promise<number> {
  const host = options.host ?? '127.0.0.1';
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ port: 0, host, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (options.max === undefined || port <= options.max) return port;
  }
  throw new Error(`freePort: no free port ≤ ${options.max} after 200 tries`);
}
