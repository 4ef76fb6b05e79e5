import { type z } from 'zod';

/** A configuration that cannot be used: every problem, one line each. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Renders a zod path the way YAML users read it: `services.flaky.instances[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** One human line per zod issue: `<path>: <what is wrong>`. */
export function formatIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const path = formatPath([...prefix, ...issue.path]);
    let message: string;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          lines.push(
            `${formatPath([...prefix, ...issue.path, key])}: unknown key (not part of the routes file format)`,
          );
        }
        continue;
      case 'invalid_type':
        message = `expected ${issue.expected}, got ${describe(issue.input)}`;
        break;
      case 'too_small':
        message =
          issue.origin === 'array'
            ? `must have at least ${String(issue.minimum)} item(s)`
            : issue.origin === 'string'
              ? 'must not be empty'
              : `must be ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
        break;
      case 'too_big':
        message = `must be ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}`;
        break;
      default:
        message = issue.message;
    }
    lines.push(path ? `${path}: ${message}` : message);
  }
  return lines;
}
