import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The kustomize overlays that deploy.sh and CI apply. */
export const OVERLAYS = ['staging', 'production', 'demo'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** Reads a file of the repository as text. */
export function readText(relativePath: string): string {
  return readFileSync(join(ROOT, relativePath), 'utf8');
}

/** Parses a YAML file of the repository (merge keys resolved, as Compose does). */
export function readYaml<T = unknown>(relativePath: string): T {
  return parse(readText(relativePath), { merge: true }) as T;
}

/**
 * Finds an external tool where scripts/ensure-tools.sh puts it (BREAKWATER_TOOLS_BIN, ~/go/bin)
 * or on PATH. A missing tool fails the test with the command that installs it: never a skip.
 */
export function tool(name: string): string {
  const dirs = [
    process.env.BREAKWATER_TOOLS_BIN,
    join(homedir(), 'go', 'bin'),
    ...(process.env.PATH ?? '').split(delimiter),
  ];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`'${name}' is not installed: run bash scripts/ensure-tools.sh`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by a timeout) and returns its output. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 20_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A Kubernetes object as kustomize prints it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `kustomize build <dir>` (dir relative to the root, or absolute), parsed. Throws on a failed build. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const result = run(tool('kustomize'), ['build', dir]);
  if (result.status !== 0) throw new Error(`kustomize build ${dir} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize build ${dir}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

/** The one object of this kind whose name is (or, for generated ones, starts with) `name`. */
export function findObject<T = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const found = objects.filter(
    (o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}
