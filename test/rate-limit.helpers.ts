import { type GatewayProc, metricValue, waitForRedisStatus } from './helpers/index.js';

export { metricValue, waitForRedisStatus };

/**
 * Resolves once the gateway reports Redis up in `/health/ready` (it starts without waiting for
 * Redis and serves from local buckets until then); fails after `timeoutMs`.
 */
export async function waitForRedisUp(gw: GatewayProc, timeoutMs = 5000): Promise<void> {
  await waitForRedisStatus(gw, 'up', timeoutMs);
}
