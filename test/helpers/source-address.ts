import { connect } from 'node:net';
import { Agent } from 'undici';
import { onCleanup } from './processes.js';

const agents = new Map<string, Agent>();

/**
 * An undici dispatcher whose connections come from `sourceIp` (any 127.x.y.z works on Linux
 * loopback), for tests that need several client addresses without trusting X-Forwarded-For.
 * Plain HTTP only. Closed automatically after the test file.
 *
 * @example
 * const res = await request(`${gw.url}/v1/proxy/svc/ok`, { dispatcher: agentFrom('127.0.0.7') });
 */
export function agentFrom(sourceIp: string): Agent {
  let agent = agents.get(sourceIp);
  if (!agent) {
    // undici's own connector ignores `localAddress`: bind the socket ourselves.
    const created = new Agent({
      keepAliveTimeout: 2000,
      connections: 64,
      connect: (opts, callback) => {
        const socket = connect({ host: opts.hostname, port: Number(opts.port), localAddress: sourceIp });
        socket.setNoDelay(true);
        socket.once('connect', () => callback(null, socket));
        socket.once('error', (err) => callback(err, null));
        return socket;
      },
    });
    agent = created;
    agents.set(sourceIp, created);
    onCleanup(async () => {
      agents.delete(sourceIp);
      await created.destroy();
    });
  }
  return agent;
}
