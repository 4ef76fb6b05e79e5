import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a Compose service the deployment tests read. */
export interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  stop_grace_period?: string;
  read_only?: boolean;
  security_opt?: string[];
  cap_drop?: string[];
  logging?: { driver?: string; options?: Record<string, string> };
  deploy?: { resources?: { limits?: Record<string, string>; reservations?: Record<string, string> } };
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Parses an env file (`KEY=value` lines, `#` comments, optional quotes and `export`). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`env file line ${i + 1}: expected KEY=value`);
    const value = m[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    out[m[1]!] = quoted ? quoted[2]! : value;
  });
  return out;
}

/**
 * Compose's variable interpolation over every string of a parsed file: `$$`, `$VAR`, `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`. A required variable
 * that is missing throws, as `docker compose` refuses to start.
 */
export function interpolate(value: unknown, vars: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (match, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
        if (match === '$$') return '$';
        const key = (name ?? bare)!;
        const v = vars[key];
        const unset = op?.startsWith(':') ? !v : v === undefined;
        if (op?.endsWith('?') && unset) throw new Error(`required variable ${key} is missing: ${arg}`);
        if (op?.endsWith('-') && unset) return arg ?? '';
        return v ?? '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars)]));
  }
  return value;
}

/** A service's container environment: its env files (in order), then `environment` on top. */
export function composeEnvironment(service: ComposeService, root: string): Record<string, string> {
  const env: Record<string, string> = {};
  const files = service.env_file === undefined ? [] : [service.env_file].flat();
  for (const file of files) Object.assign(env, parseEnvFile(readFileSync(join(root, file), 'utf8')));
  const own = service.environment ?? {};
  const entries = Array.isArray(own)
    ? own.map((item) => [item.split('=')[0]!, item.slice(item.indexOf('=') + 1)] as const)
    : Object.entries(own).map(([k, v]) => [k, v === null ? '' : String(v)] as const);
  for (const [k, v] of entries) env[k] = v;
  return env;
}
