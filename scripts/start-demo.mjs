// `npm start`: the demo. Two flaky-upstream instances on :8001 and :8002 and the gateway on
// :8080 in front of them (embedded in-memory store, no Redis needed). Ctrl-C stops all three.
// Any gateway variable set in the environment is passed through (e.g. LOG_LEVEL, PORT).
import { spawn } from 'node:child_process';

const gatewayPort = process.env.PORT ?? '8080';
const children = [];
let stopping = false;
let exitCode = 0;

function start(name, script, env) {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (stream, out) => {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  };
  prefix(child.stdout, process.stdout);
  if (name === 'gateway') child.stderr.pipe(process.stderr);
  else prefix(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (!stopping) {
      // Before the gateway is up, its own error line says it all.
      if (up) console.error(`[demo] ${name} exited (${signal ?? code}); stopping the demo`);
      exitCode = code || 1;
      stop();
    }
    if (children.length === 0) process.exit(exitCode);
  });
  children.push(child);
  return child;
}

function stop() {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  // A stuck child must not keep the terminal: force after a grace period.
  setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, 8000).unref();
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop); // the terminal went away

// The gateway first: a configuration error stops the demo before anything else starts, with
// the gateway's own one line naming the variable.
let up = false;
const gateway = start('gateway', 'dist/apps/gateway/main.js', {
  PORT: gatewayPort,
  GATEWAY_CONFIG: process.env.GATEWAY_CONFIG ?? 'config/gateway.yaml',
  DASHBOARD_DRILL: process.env.DASHBOARD_DRILL ?? 'true',
  SHUTDOWN_DRAIN_MS: process.env.SHUTDOWN_DRAIN_MS ?? '3000',
});
gateway.stdout.once('data', () => {
  up = true;
  for (const [port, id] of [
    ['8001', 'flaky-1'],
    ['8002', 'flaky-2'],
  ]) {
    start(id, 'dist/apps/flaky-upstream/main.js', { PORT: port, HOST: '127.0.0.1', INSTANCE_ID: id });
  }
  const base = `http://localhost:${gatewayPort}`;
  console.log(`
[demo] Breakwater is up (embedded store; flaky upstreams on :8001 and :8002):
[demo]   curl ${base}/v1/proxy/flaky/users
[demo]   curl ${base}/api/v1/data
[demo]   dashboard   ${base}/dashboard
[demo]   metrics     ${base}/metrics   (JSON: -H 'Accept: application/json')
[demo]   health      ${base}/health/ready
[demo] Ctrl-C stops all three.
`);
});
