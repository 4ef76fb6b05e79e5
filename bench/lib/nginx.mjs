// The nginx row: Debian nginx-light as a foreground, single-process proxy with upstream keep-alive.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** nginx's version line, or null when it is not installed. */
export function nginxVersion() {
  for (const bin of ['nginx', '/usr/sbin/nginx']) {
    // `nginx -v` prints to stderr.
    const r = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 5000 });
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (!r.error && text.startsWith('nginx version')) return { bin, version: text.replace('nginx version: ', '') };
  }
  return null;
}

/**
 * Writes a config under `prefix` and returns the nginx arguments. One worker in the
 * foreground (`master_process off`: the same event loop as a worker, and a single pid to stop
 * and measure), access log buffered to a file, HTTP/1.1 keep-alive pool to the upstream.
 */
export function nginxSetup(prefix, { port, upstreamPort }) {
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  const conf = `worker_processes 1;
master_process off;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${prefix}/logs/access.log combined buffer=64k flush=1s;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  upstream up {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return { conf, args: ['-p', prefix, '-e', join(prefix, 'logs', 'error.log'), '-c', file] };
}
