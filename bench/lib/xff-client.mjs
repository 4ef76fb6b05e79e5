// The soak's load client (run as a child by load.mjs `xffLoad`): autocannon's programmatic API,
// because every request needs its own `X-Forwarded-For` (the CLI sends fixed headers). Request n
// of a run comes from address (ipStart + n) mod ipSpace, written 10.a.b.c, so the gateway (with
// TRUST_PROXY=true) sees up to ipSpace distinct clients. A request's address is assigned just
// before it is written (autocannon builds the next request only when it sends it), so `sent`
// counts addresses that went out. Each 5xx is sorted by who made it: the flaky-upstream puts
// `X-Instance-Id` on every answer and the gateway passes it through; the gateway's own errors
// (problem+json) have none. Prints one line: `XFF_JSON {…}`.
//
// argv[2]: JSON {url, headers?, connections, seconds?, amount?, rate?, timeoutS, ipStart, ipSpace, maxS?}
import autocannon from 'autocannon';

const o = JSON.parse(process.argv[2]);
let sent = 0;
const statuses = {};
let upstream5xx = 0;
let gateway5xx = 0;
const gatewayCodes = {};

/** Address number `n` as 10.a.b.c (n < 2^24). */
function address(n) {
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function header(headers, name) {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

const instance = autocannon(
  {
    url: o.url,
    connections: o.connections,
    duration: o.seconds ?? 10,
    amount: o.amount,
    overallRate: o.rate ?? undefined,
    timeout: o.timeoutS,
    headers: o.headers ?? {},
    requests: [
      {
        setupRequest(req) {
          req.headers['x-forwarded-for'] = address((o.ipStart + sent++) % o.ipSpace);
          return req;
        },
        onResponse(status, body, _context, headers) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status < 500) return;
          if (header(headers, 'x-instance-id') !== undefined) {
            upstream5xx++;
            return;
          }
          gateway5xx++;
          let code = 'no code';
          try {
            code = JSON.parse(body).code ?? code;
          } catch {
            /* not JSON */
          }
          const key = `${status} ${code}`;
          gatewayCodes[key] = (gatewayCodes[key] ?? 0) + 1;
        },
      },
    ],
  },
  (err, r) => {
    if (err) {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    }
    const out = {
      requests: r.requests.total,
      duration: r.duration,
      latency: { p50: r.latency.p50, p99: r.latency.p99, p99_9: r.latency.p99_9, max: r.latency.max },
      non2xx: r.non2xx,
      errors: r.errors, // socket errors, timeouts included
      timeouts: r.timeouts,
      '5xx': r['5xx'],
      sent,
      statuses,
      upstream5xx,
      gateway5xx,
      gatewayCodes,
    };
    process.stdout.write(`XFF_JSON ${JSON.stringify(out)}\n`);
  },
);
// A full-load run is bounded by a request count and, on a slow machine, by time as well.
if (o.maxS) setTimeout(() => instance.stop(), o.maxS * 1000).unref();
