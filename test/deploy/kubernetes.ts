// deploy/kubernetes/ as a cluster would receive it: rendered by `kubectl
// kustomize` and checked, offline, against the Kubernetes OpenAPI schemas
// (kubernetes-models: the upstream spec compiled to validators and TypeScript
// types). There is no cluster on these machines: validated, not run.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const KUSTOMIZATION_DIR = 'deploy/kubernetes';
/** As a user types it: kustomize's default options (its load restrictor included). */
export const RENDER_ARGS = ['kustomize', KUSTOMIZATION_DIR];
/** Native sidecars (restartPolicy: Always on an init container) are on by default from 1.29. */
export const KUBECTL_MIN_MINOR = 29;

// --- kubectl ------------------------------------------------------------------------

/** kubectl's client minor version, or why there is none fit for the job. */
export function kubectlMinor(command = 'kubectl'): { minor: number } | { missing: string } {
  let out: string;
  try {
    out = execFileSync(command, ['version', '--client', '-o', 'json'], { stdio: 'pipe', timeout: 20_000 }).toString();
  } catch (err) {
    return { missing: `${command} did not run (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const minor = Number.parseInt((JSON.parse(out) as { clientVersion?: { minor?: string } }).clientVersion?.minor ?? '', 10);
  if (!(minor >= KUBECTL_MIN_MINOR)) return { missing: `kubectl is 1.${minor}, older than 1.${KUBECTL_MIN_MINOR}` };
  return { minor };
}

/**
 * True when the suite can run. Without a fit kubectl it skips with a visible
 * message, or throws where one is required (REQUIRE_DOCKER=1 or CI, as
 * .ci/run sets them after ../shared/k8s/ensure-kubectl.sh).
 */
export function requireKubectlOrSkip(suite: string, env: NodeJS.ProcessEnv = process.env, command = 'kubectl'): boolean {
  const found = kubectlMinor(command);
  if ('minor' in found) return true;
  const hint = 'install one with ../shared/k8s/ensure-kubectl.sh (as root)';
  if (env.REQUIRE_DOCKER === '1' || (env.CI !== undefined && env.CI !== '' && env.CI !== 'false')) {
    throw new Error(`${suite}: kubectl is required here (REQUIRE_DOCKER=1 or CI) but ${found.missing}; ${hint}`);
  }
  console.warn(`\n*** ${suite}: SKIPPED — ${found.missing}; ${hint}, or set REQUIRE_DOCKER=1 to fail instead. ***\n`);
  return false;
}

// --- The rendered objects ------------------------------------------------------------

/** Loosely typed: the tests read the objects as data; the schemas check their types. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: any };

export function kustomize(args: string[] = RENDER_ARGS): string {
  return execFileSync('kubectl', args, { cwd: ROOT, stdio: 'pipe', timeout: 60_000 }).toString();
}

/** Every document of a multi-document YAML stream; throws on a YAML error. */
export function parseObjects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

export const describeObject = (o: K8sObject): string => `${o.kind}/${o.metadata?.name ?? '?'}`;

/** kubernetes-models' module for an object: `v1/ConfigMap`, `apps/v1/Deployment`, `policy/v1/PodDisruptionBudget`. */
export function modelPath(o: Pick<K8sObject, 'apiVersion' | 'kind'>): string {
  return `${o.apiVersion.includes('/') ? o.apiVersion : `v1`}/${o.kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Each object against its kind's OpenAPI schema (types, required fields,
 * enums, formats): the problems, one per object that fails, or no schema.
 */
export async function schemaProblems(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    let model: ModelClass | undefined;
    try {
      const mod = (await import(/* @vite-ignore */ `kubernetes-models/${modelPath(o)}`)) as Record<string, ModelClass | undefined>;
      model = mod[o.kind];
    } catch {
      model = undefined;
    }
    if (model === undefined) {
      problems.push(`${describeObject(o)}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new model(o).validate();
    } catch (err) {
      problems.push(`${describeObject(o)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Fields the schemas do not know. The OpenAPI spec leaves objects open (the
 * API server rejects unknown fields itself, `kubectl apply`'s default strict
 * field validation), so the JSON Schema check passes `readOnlyRootFilesytem:
 * true` and the pod would run without it. The same spec's TypeScript types
 * are closed: each object, as a literal of its kind's type, is type-checked,
 * and an unknown field is an excess-property error. TypeScript reports the
 * first problem of each object; an object with none is clean.
 */
export function unknownFieldProblems(objects: readonly K8sObject[]): string[] {
  const file = path.join(ROOT, 'test/deploy/__rendered_objects.ts');
  const lines = objects.flatMap((o, i) => [
    `import type { I${o.kind} as T${i} } from 'kubernetes-models/${modelPath(o)}';`,
    `export const o${i}: T${i} = ${JSON.stringify(o)};`,
  ]);
  const source = lines.join('\n');
  const host = ts.createCompilerHost({});
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? source : readFile(f));
  host.fileExists = (f) => path.resolve(f) === file || fileExists(f);
  const program = ts.createProgram(
    [file],
    {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
    },
    host,
  );
  const sourceFile = program.getSourceFile(file);
  if (sourceFile === undefined) return ['the type check did not load the rendered objects'];
  return ts.getPreEmitDiagnostics(program, sourceFile).map((d) => {
    const line = d.start === undefined ? -1 : sourceFile.getLineAndCharacterOfPosition(d.start).line;
    const o = objects[Math.floor(line / 2)];
    const where = o === undefined ? 'rendered objects' : describeObject(o);
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

// --- Pods ---------------------------------------------------------------------------

export type Container = K8sObject[string];

export interface PodTemplate {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: any;
  /** Every container, native sidecars (init containers) included. */
  containers: Container[];
}

export function podTemplates(objects: readonly K8sObject[]): PodTemplate[] {
  return objects
    .filter((o) => o.spec?.template?.spec !== undefined)
    .map((o) => ({
      owner: o,
      labels: (o.spec.template.metadata?.labels ?? {}) as Record<string, string>,
      spec: o.spec.template.spec,
      containers: [...(o.spec.template.spec.initContainers ?? []), ...(o.spec.template.spec.containers ?? [])],
    }));
}

/** A label selector's matchLabels (and matchExpressions, which these manifests do not use) against labels. */
export function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  if ((selector.matchExpressions ?? []).length > 0) throw new Error('matchExpressions are not supported by this test');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** A Service's plain `selector` map. */
export const serviceSelects = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
