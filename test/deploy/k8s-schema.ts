import ts from 'typescript';
import { ROOT, type K8sObject } from './deploy-helpers.js';

/* Kubernetes schema validation with kubernetes-models (k8s 1.34 OpenAPI), in two passes:
 *  1. each model's validate(): the OpenAPI schema (required fields, types, formats, enums);
 *  2. the TypeScript compiler over the same objects typed with the models' interfaces: catches
 *     unknown fields (a `livenesProbe` typo), which the OpenAPI schema lets through but which
 *     `kubectl apply` (strict field validation) refuses. */

/** The module that holds the model of `apiVersion` (e.g. `kubernetes-models/apps/v1`). */
function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** Problems found by the models' OpenAPI validation, one line per object. */
export async function openApiProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const where = `${object.kind}/${object.metadata?.name}`;
    let Class: ModelClass | undefined;
    try {
      const mod = (await import(modelModule(object.apiVersion))) as Record<string, ModelClass>;
      Class = mod[object.kind];
    } catch {
      Class = undefined;
    }
    if (!Class) {
      problems.push(`${where}: no model for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    // kustomize wraps long base64 Secret values over lines; the API server's decoder skips the
    // newlines, the models' "byte" format does not: validate them as the server reads them.
    const data = object.kind === 'Secret' ? (object.data as Record<string, string> | undefined) : undefined;
    const input = data
      ? { ...object, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.replace(/\s+/g, '')])) }
      : object;
    try {
      new Class(input).validate();
    } catch (err) {
      problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

const CHECK_FILE = `${ROOT}/__k8s_field_check__.ts`;

/**
 * Problems found by type-checking the objects against the models' interfaces (unknown fields,
 * wrong types), per named group. One TypeScript program for all groups: it is the slow part.
 */
export function fieldProblems(groups: Readonly<Record<string, readonly K8sObject[]>>): Record<string, string[]> {
  const entries = Object.entries(groups).flatMap(([group, objects]) => objects.map((object) => ({ group, object })));
  const source = entries
    .map(
      ({ object: o }, i) =>
        `export const o${i}: import('${modelModule(o.apiVersion)}/${o.kind}').I${o.kind} = ${JSON.stringify(o)};`,
    )
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === CHECK_FILE ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === CHECK_FILE || fileExists(name);
  const program = ts.createProgram([CHECK_FILE], options, host);
  const problems: Record<string, string[]> = Object.fromEntries(Object.keys(groups).map((g) => [g, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file?.fileName !== CHECK_FILE || d.start === undefined) continue;
    // One object per line: the line number is the object's index.
    const { group, object } = entries[d.file.getLineAndCharacterOfPosition(d.start).line]!;
    problems[group]!.push(
      `${object.kind}/${object.metadata?.name}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
    );
  }
  return problems;
}
