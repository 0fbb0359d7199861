// deploy/kubernetes/ rendered with `kubectl kustomize` and checked offline:
// every object against the Kubernetes OpenAPI schemas (kubernetes-models, the
// 1.33 spec), no field those schemas do not know, and the properties the
// design rests on (docs/kubernetes.md). No cluster: validated, not run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTemplate } from '../watcher/core/nginxTemplate.js';
import { watcherConfigSchema } from '../../watcher/config.js';
import {
  type Container,
  type K8sObject,
  KUSTOMIZATION_DIR,
  ROOT,
  describeObject,
  kustomize,
  parseObjects,
  podTemplates,
  requireKubectlOrSkip,
  schemaProblems,
  selects,
  serviceSelects,
  unknownFieldProblems,
} from './kubernetes.js';

const enabled = requireKubectlOrSkip('Kubernetes manifests');

const read = (rel: string): string => readFileSync(path.join(ROOT, rel), 'utf8');

/** The njs file's constant `name` (a path), as nginx/njs/serving-pool.js declares it. */
function njsPath(name: string): string {
  const value = new RegExp(`^const ${name} = '([^']+)';$`, 'm').exec(read('nginx/njs/serving-pool.js'))?.[1];
  if (value === undefined) throw new Error(`nginx/njs/serving-pool.js declares no ${name}`);
  return value;
}
/** The entrypoint's default for `variable` (\${VAR:-default}), as 15-active-pool.envsh reads it. */
function entrypointDefault(variable: string): string | undefined {
  return new RegExp(`\\$\\{${variable}:-([^}]+)\\}`).exec(read('nginx/docker-entrypoint.d/15-active-pool.envsh'))?.[1];
}

/**
 * Each policy is an ingress policy whose every rule names its peers (an
 * empty `from` admits everyone), in this namespace, by pod: a pod with one of
 * `allowed`'s labels, or the operator (role=operator).
 */
function expectPeersOnly(policies: any[], allowed: Record<string, string>[]): void {
  for (const np of policies) {
    expect(np.spec.policyTypes).toContain('Ingress');
    for (const rule of np.spec.ingress ?? []) {
      expect((rule.from ?? []).length, `${describeObject(np)}: a rule with no "from"`).toBeGreaterThan(0);
      for (const peer of rule.from) {
        expect(peer.namespaceSelector, `${describeObject(np)}: no other namespace`).toBeUndefined();
        expect(peer.ipBlock, `${describeObject(np)}: no address block`).toBeUndefined();
        const operator = JSON.stringify(peer.podSelector?.matchLabels) === JSON.stringify({ role: 'operator' });
        const ok = operator || allowed.some((labels) => selects(peer.podSelector, labels));
        expect(ok, `${describeObject(np)}: peer ${JSON.stringify(peer)}`).toBe(true);
      }
    }
  }
}

/** Every file under the kustomization, relative to it. */
function kustomizationFiles(): string[] {
  const dir = path.join(ROOT, KUSTOMIZATION_DIR);
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).replace(/\\/g, '/'));
}

describe.skipIf(!enabled)('deploy/kubernetes, rendered by kubectl kustomize', () => {
  let objects: K8sObject[];
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  const one = (kind: string, name: string): K8sObject => {
    const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
    expect(found.map(describeObject), `exactly one ${kind}/${name}`).toHaveLength(1);
    return found[0]!;
  };
  const configMap = (prefix: string): K8sObject => {
    // Generated ConfigMaps carry a content hash: nginx-template-98948fftf6.
    const found = all('ConfigMap').filter((o) => o.metadata.name === prefix || o.metadata.name.startsWith(`${prefix}-`));
    expect(found.map(describeObject), `exactly one ConfigMap ${prefix}`).toHaveLength(1);
    return found[0]!;
  };
  /** The workloads: the pools are Deployments; Nginx and Alertmanager, whose state outlives their pods, StatefulSets. */
  const WORKLOADS = ['Deployment', 'StatefulSet'];
  const workloads = () => objects.filter((o) => WORKLOADS.includes(o.kind));
  const pod = (workload: string) => {
    const found = podTemplates(objects).filter((p) => WORKLOADS.includes(p.owner.kind) && p.owner.metadata.name === workload);
    expect(found.map((p) => describeObject(p.owner)), `exactly one workload ${workload}`).toHaveLength(1);
    return found[0]!;
  };
  const container = (workload: string, name: string): Container => {
    const c = pod(workload).containers.find((x) => x.name === name);
    expect(c, `${workload} has a container ${name}`).toBeDefined();
    return c;
  };
  /** Every watcher container, wherever it runs: the one that starts the watcher's main. */
  const watchers = () =>
    podTemplates(objects).flatMap((p) => p.containers.filter((c) => (c.command ?? []).join(' ').includes('dist/watcher/main.js')).map((c) => ({ p, c })));
  /** The volume mounted at `dir` or above it, in container `c` of pod template `p`: its mount and what backs it. */
  const volumeAt = (p: { owner: K8sObject; spec: any }, c: Container, dir: string) => {
    const mount = (c.volumeMounts ?? [])
      .filter((m: { mountPath: string }) => dir === m.mountPath || dir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
      .sort((a: { mountPath: string }, b: { mountPath: string }) => b.mountPath.length - a.mountPath.length)[0];
    if (mount === undefined) return undefined;
    const volume = (p.spec.volumes ?? []).find((v: { name: string }) => v.name === mount.name);
    const claim = (p.owner.spec.volumeClaimTemplates ?? []).find((t: { metadata: { name: string } }) => t.metadata.name === mount.name);
    return { mount, volume, claim };
  };
  /** The value a container's environment gives `name`: literal, or from a ConfigMap key or envFrom. */
  const envSource = (
    c: Container,
    name: string,
  ): { value?: string; secret?: { name: string; key: string }; configMap?: string; field?: string } | undefined => {
    const entry = (c.env ?? []).find((e: { name: string }) => e.name === name);
    if (entry?.value !== undefined) return { value: entry.value };
    const ref = entry?.valueFrom;
    if (ref?.secretKeyRef) return { secret: ref.secretKeyRef };
    if (ref?.fieldRef) return { field: ref.fieldRef.fieldPath };
    if (ref?.configMapKeyRef) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.configMapKeyRef.name);
      return { value: cm?.data?.[ref.configMapKeyRef.key], configMap: ref.configMapKeyRef.name };
    }
    for (const from of c.envFrom ?? []) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
      if (cm?.data?.[name] !== undefined) return { value: cm.data[name], configMap: cm.metadata.name };
    }
    return undefined;
  };

  let composeFile: { services: Record<string, { environment?: Record<string, unknown>; image?: string; entrypoint?: string[]; command?: string[]; volumes?: string[] }> };
  const compose = () => composeFile;

  beforeAll(() => {
    objects = parseObjects(kustomize());
    composeFile = parseYaml(read('docker-compose.yml'), { merge: true });
  });

  it('renders the stack: namespace, pools, Nginx, settings, budgets, policies', () => {
    const kinds = objects.map(describeObject);
    for (const expected of [
      'Namespace/bluegreen',
      'Deployment/app-blue',
      'Deployment/app-green',
      'StatefulSet/nginx',
      'StatefulSet/alertmanager',
      'Service/app-blue',
      'Service/app-green',
      'Service/nginx',
      'Service/watcher',
      'Service/alertmanager',
      'NetworkPolicy/pools',
      'NetworkPolicy/nginx',
      'NetworkPolicy/alertmanager',
    ]) {
      expect(kinds).toContain(expected);
    }
    // Nginx is no longer a Deployment: one workload of that name.
    expect(kinds).not.toContain('Deployment/nginx');
    expect(all('PodDisruptionBudget').length).toBeGreaterThan(0);
    // Everything but the Namespace lives in it.
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'bluegreen').map(describeObject)).toEqual([]);
  });

  it('every object is valid against its kind\'s Kubernetes OpenAPI schema', async () => {
    expect(await schemaProblems(objects)).toEqual([]);
  });

  it('the schema check rejects what the API server would (wrong type, missing field, unknown kind)', async () => {
    const deployment = structuredClone(one('StatefulSet', 'nginx'));
    deployment.spec.replicas = 'two';
    const nameless = structuredClone(one('Deployment', 'app-blue'));
    delete nameless.spec.template.spec.containers[0].name;
    const unknown = { apiVersion: 'v1', kind: 'Podd', metadata: { name: 'x' } };
    const problems = await schemaProblems([deployment, nameless, unknown]);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/replicas must be integer/);
    expect(problems[1]).toMatch(/containers\/0 must have required property '?name'?/);
    expect(problems[2]).toMatch(/no schema for v1 Podd/);
  });

  it('no object has a field the schemas do not know (a typo would be dropped, not refused)', () => {
    const typo = structuredClone(one('Deployment', 'app-green'));
    const sc = typo.spec.template.spec.containers[0].securityContext;
    sc.readOnlyRootFilesytem = sc.readOnlyRootFilesystem;
    delete sc.readOnlyRootFilesystem;
    // One type check for both: the real objects must be clean, the planted typo caught.
    const problems = unknownFieldProblems([...objects, typo]);
    const planted = problems.filter((p) => p.startsWith('Deployment/app-green') && p.includes('readOnlyRootFilesytem'));
    expect(planted, 'the check caught the planted typo').toHaveLength(1);
    expect(problems.filter((p) => !planted.includes(p))).toEqual([]);
  }, 60_000);

  it('the template ConfigMap is nginx/templates/default.conf.template itself, mounted where the image renders it', () => {
    const cm = configMap('nginx-template');
    expect(cm.data['default.conf.template']).toBe(readTemplate());
    // One copy, the one scripts/k8s-files.sh keeps (test/deploy/k8sFiles.test.ts): no other template text under deploy/.
    const copies = kustomizationFiles().filter((f) => read(path.join(KUSTOMIZATION_DIR, f)).includes('upstream blue_primary'));
    expect(copies).toEqual(['files/default.conf.template']);
    const nginx = container('nginx', 'nginx');
    const volume = pod('nginx').spec.volumes.find((v: { configMap?: { name: string } }) => v.configMap?.name === cm.metadata.name);
    expect(volume).toBeDefined();
    const mount = nginx.volumeMounts.find((m: { name: string }) => m.name === volume.name);
    // Where nginx/Dockerfile puts it in the image, which the entrypoint renders from.
    const imageDir = /^COPY templates\/ (\S+?)\/?$/m.exec(read('nginx/Dockerfile'))?.[1];
    expect(imageDir).toBeDefined();
    expect(mount.mountPath).toBe(imageDir);
    expect(mount.readOnly).toBe(true);
  });

  it('the watcher is a native sidecar of every Nginx pod, reading its access log from a shared emptyDir', () => {
    const spec = pod('nginx').spec;
    const watcher = container('nginx', 'watcher');
    expect(spec.initContainers.map((c: Container) => c.name)).toContain('watcher');
    expect(watcher.restartPolicy).toBe('Always');
    expect(watcher.command).toEqual(['node', 'dist/watcher/main.js']);
    expect(existsSync(path.join(ROOT, 'watcher/main.ts'))).toBe(true);
    // Nginx writes the log the watcher is told to read, on a volume both mount.
    const logPath = envSource(watcher, 'LOG_PATH')?.value;
    const written = /^\s*access_log\s+(\S+)\s+bluegreen;/m.exec(readTemplate())?.[1];
    expect(logPath).toBe(written);
    const nginx = container('nginx', 'nginx');
    const under = (c: Container) => c.volumeMounts.find((m: { mountPath: string }) => logPath!.startsWith(`${m.mountPath}/`));
    expect(under(nginx)?.name).toBeDefined();
    expect(under(watcher)?.name).toBe(under(nginx)?.name);
    expect(under(watcher)?.readOnly).toBe(true);
    expect(spec.volumes.find((v: { name: string }) => v.name === under(nginx).name)?.emptyDir).toBeDefined();
    // Nginx publishes the pool it serves where the watcher reads it (ACTIVE_POOL_FILE, or its default), on that same volume.
    const published = njsPath('PUBLISHED_FILE');
    expect(entrypointDefault('PUBLISHED_POOL_FILE')).toBe(published);
    expect(envSource(watcher, 'ACTIVE_POOL_FILE')?.value ?? watcherConfigSchema.shape.ACTIVE_POOL_FILE.parse(undefined)).toBe(published);
    expect(volumeAt(pod('nginx'), nginx, published)?.mount.name).toBe(under(nginx).name);
    expect(volumeAt(pod('nginx'), nginx, published)?.mount.readOnly ?? false).toBe(false);
    expect(volumeAt(pod('nginx'), watcher, published)?.mount.name).toBe(under(nginx).name);
    // The watcher listens where its port and probes say.
    expect(Number(envSource(watcher, 'WATCHER_PORT')?.value)).toBe(watcher.ports[0].containerPort);
    // The rotated log fits its volume: ACCESS_LOG_MAX_MB x (ACCESS_LOG_KEEP + 1), or the kubelet evicts the pod.
    const mb = Number(envSource(nginx, 'ACCESS_LOG_MAX_MB')?.value);
    const keep = Number(envSource(nginx, 'ACCESS_LOG_KEEP')?.value);
    const limit = /^(\d+)Mi$/.exec(spec.volumes.find((v: { name: string }) => v.name === under(nginx).name).emptyDir.sizeLimit)?.[1];
    expect(mb * (keep + 1) * 1e6).toBeLessThan(Number(limit) * 1024 * 1024);
  });

  it('the switch edits one ConfigMap by a stable name, which Nginx mounts as its control file: no restart, no environment', () => {
    // By name, with no hash suffix (a hashed name would roll the pods at each edit), and editable.
    const cm = one('ConfigMap', 'active-pool');
    expect(['blue', 'green']).toContain(cm.data?.ACTIVE_POOL);
    expect(cm.immutable ?? false).toBe(false);
    const p = pod('nginx');
    const nginx = container('nginx', 'nginx');
    // The file njs reads every 100 ms and the entrypoint reads at start.
    const controlFile = njsPath('CONTROL_FILE');
    expect(entrypointDefault('SERVING_POOL_FILE')).toBe(controlFile);
    const at = volumeAt(p, nginx, controlFile);
    expect(at, `a volume at ${controlFile}`).toBeDefined();
    // The directory, from the ConfigMap, read-only; never a subPath, which the kubelet does not update.
    expect(at!.mount.mountPath).toBe(path.posix.dirname(controlFile));
    expect(at!.mount.readOnly).toBe(true);
    expect(at!.mount.subPath).toBeUndefined();
    expect(at!.mount.subPathExpr).toBeUndefined();
    expect(at!.volume?.configMap?.name).toBe('active-pool');
    expect(at!.volume.configMap.items).toEqual([{ key: 'ACTIVE_POOL', path: path.posix.basename(controlFile) }]);
    // Required: a pod never starts without the file (and then on ACTIVE_POOL's default, a pool nobody chose).
    expect(at!.volume.configMap.optional ?? false).toBe(false);
    // Readable by Nginx (user 101, not the file's owner): the kubelet's 0644 unless a mode says otherwise.
    expect((at!.volume.configMap.defaultMode ?? 0o644) & 0o004).toBe(0o004);
    // No one else mounts it: only Nginx acts on a switch, the watcher hears of it from Nginx's published file.
    const mounts = p.containers.filter((c) => (c.volumeMounts ?? []).some((m: { name: string }) => m.name === at!.mount.name));
    expect(mounts.map((c) => c.name)).toEqual(['nginx']);
    // Nginx has no ACTIVE_POOL of its own: an environment is fixed at the pod's creation and would name the old pool after a switch.
    expect(envSource(nginx, 'ACTIVE_POOL')).toBeUndefined();
    // The watcher keeps it, for its first start in a new pod: the same ConfigMap key.
    expect(envSource(container('nginx', 'watcher'), 'ACTIVE_POOL')).toEqual({ value: cm.data.ACTIVE_POOL, configMap: 'active-pool' });
    const ref = container('nginx', 'watcher').env.find((e: { name: string }) => e.name === 'ACTIVE_POOL').valueFrom.configMapKeyRef;
    expect(ref).toEqual({ name: 'active-pool', key: 'ACTIVE_POOL' });
  });

  it('the template\'s njs is the image\'s: js_path where nginx/Dockerfile copies nginx/njs/, every function it calls exported there, nothing mounted over it', () => {
    const template = readTemplate();
    const jsPath = /^js_path (\S+);$/m.exec(template)?.[1];
    const imported = /^js_import (\w+) from (\S+);$/m.exec(template);
    expect(jsPath).toBeDefined();
    expect(imported).not.toBeNull();
    const [, alias, file] = imported!;
    const dockerfile = read('nginx/Dockerfile');
    expect(/^COPY njs\/ (\S+?)\/?$/m.exec(dockerfile)?.[1]).toBe(jsPath);
    // The module itself is loaded by the image's nginx.conf, which no template can reach.
    expect(dockerfile).toMatch(/load_module modules\/ngx_http_js_module\.so;/);
    const njs = read(`nginx/njs/${file}`);
    const exported = /^export default \{([^}]*)\};?$/m.exec(njs)?.[1]?.split(',').map((n) => n.trim()) ?? [];
    const called = [...new Set([...template.matchAll(new RegExp(`\\b${alias}\\.(\\w+)`, 'g'))].map((m) => m[1]!))];
    expect(called.sort()).toEqual(['refresh']);
    for (const fn of called) expect(exported, `${file} exports ${fn}`).toContain(fn);
    // The image's file serves: no ConfigMap (or anything) over it, so the image and files/ must be of one revision.
    expect(volumeAt(pod('nginx'), container('nginx', 'nginx'), `${jsPath}/${file}`)).toBeUndefined();
  });

  it('the pool Services are headless, and Nginx names them by fully qualified names', () => {
    const settings = configMap('nginx-settings').data;
    for (const pool of ['blue', 'green']) {
      const svc = one('Service', `app-${pool}`);
      expect(svc.spec.clusterIP).toBe('None');
      // Its pods: this pool's, and no other's.
      const selected = podTemplates(objects).filter((p) => serviceSelects(svc.spec.selector, p.labels));
      expect(selected.map((p) => describeObject(p.owner))).toEqual([`Deployment/app-${pool}`]);
      const host = settings[`${pool.toUpperCase()}_UPSTREAM_HOST`];
      expect(host).toBe(`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`);
    }
    // The pools' port is the one Nginx proxies to.
    expect(settings.APP_PORT).toBe(envSource(container('app-blue', 'app'), 'PORT')?.value);
  });

  it('every Service selects pods, on a port one of their containers declares', () => {
    for (const svc of all('Service')) {
      const pods = podTemplates(objects).filter((p) => serviceSelects(svc.spec.selector, p.labels));
      expect(pods.length, `${describeObject(svc)} selects no pods`).toBeGreaterThan(0);
      for (const p of pods) {
        for (const port of svc.spec.ports) {
          // A named targetPort must be a regular container's (not every version resolves a sidecar's).
          const declared = typeof port.targetPort === 'string'
            ? p.spec.containers.some((c: Container) => (c.ports ?? []).some((cp: { name?: string }) => cp.name === port.targetPort))
            : p.containers.some((c) => (c.ports ?? []).some((cp: { containerPort: number }) => cp.containerPort === port.targetPort));
          expect(declared, `${describeObject(svc)} port ${port.name} -> ${describeObject(p.owner)}`).toBe(true);
        }
      }
    }
  });

  it('every container is locked down: non-root, read-only root, no capabilities, seccomp RuntimeDefault', () => {
    const templates = podTemplates(objects);
    expect(templates.length).toBe(4);
    for (const p of templates) {
      expect(p.spec.automountServiceAccountToken, describeObject(p.owner)).toBe(false);
      expect(p.spec.enableServiceLinks, describeObject(p.owner)).toBe(false);
      expect(p.spec.hostNetwork ?? false).toBe(false);
      for (const c of p.containers) {
        const where = `${describeObject(p.owner)} container ${c.name}`;
        const sc = c.securityContext ?? {};
        const effective = (field: string) => sc[field] ?? p.spec.securityContext?.[field];
        expect(effective('runAsNonRoot'), where).toBe(true);
        expect(effective('runAsUser'), where).toBeGreaterThan(0);
        expect(sc.readOnlyRootFilesystem, where).toBe(true);
        expect(sc.allowPrivilegeEscalation, where).toBe(false);
        expect(sc.privileged ?? false, where).toBe(false);
        expect(sc.capabilities?.drop, where).toEqual(['ALL']);
        expect(sc.capabilities?.add ?? [], where).toEqual([]);
        expect(effective('seccompProfile'), where).toEqual({ type: 'RuntimeDefault' });
      }
    }
    // The Namespace enforces the same: a later edit that breaks it is refused at apply time.
    expect(one('Namespace', 'bluegreen').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('every container has probes on paths its program serves, and resources', () => {
    const served: Record<string, string> = {
      app: read('app/routes.ts'),
      watcher: read('watcher/main.ts'),
      nginx: readTemplate(),
    };
    // Not our code: the endpoints Alertmanager documents (its management API).
    const alertmanagerPaths = ['/-/healthy', '/-/ready'];
    const servesPath = (name: string, p: string) =>
      name === 'alertmanager'
        ? alertmanagerPaths.includes(p)
        : name === 'nginx'
          ? new RegExp(`location\\s*=\\s*${p}\\s*\\{`).test(served.nginx!)
          : served[name]!.includes(`'${p}'`);
    for (const p of podTemplates(objects)) {
      for (const c of p.containers) {
        const where = `${describeObject(p.owner)} container ${c.name}`;
        const sidecar = c.restartPolicy === 'Always';
        // A sidecar's readiness would take Nginx out of the Service when the watcher is unwell: it has none.
        const kinds = sidecar ? ['startupProbe', 'livenessProbe'] : ['startupProbe', 'livenessProbe', 'readinessProbe'];
        for (const kind of kinds) {
          const probe = c[kind];
          expect(probe?.httpGet, `${where} ${kind}`).toBeDefined();
          expect(servesPath(c.name, probe.httpGet.path), `${where} ${kind} ${probe.httpGet.path}`).toBe(true);
          const port = probe.httpGet.port;
          const declared = (c.ports ?? []).some((cp: { name?: string; containerPort: number }) => cp.name === port || cp.containerPort === port);
          expect(declared, `${where} ${kind} port ${port}`).toBe(true);
        }
        if (sidecar) expect(c.readinessProbe, where).toBeUndefined();
        expect(c.resources?.requests?.cpu, where).toBeDefined();
        expect(c.resources?.requests?.memory, where).toBeDefined();
        expect(c.resources?.limits?.memory, where).toBeDefined();
      }
    }
  });

  it('only Nginx and the operator reach the pools\' port, where /chaos lives; Nginx never forwards /chaos', () => {
    const poolPods = ['app-blue', 'app-green'].map(pod);
    const poolPort = container('app-blue', 'app').ports.find((p: { name: string }) => p.name === 'http').containerPort;
    const policies = all('NetworkPolicy').filter((np) => poolPods.some((p) => selects(np.spec.podSelector, p.labels)));
    expect(policies.length).toBeGreaterThan(0);
    for (const p of poolPods) {
      expect(policies.some((np) => selects(np.spec.podSelector, p.labels)), describeObject(p.owner)).toBe(true);
    }
    const nginxLabels = pod('nginx').labels;
    expectPeersOnly(policies, [nginxLabels]);
    const admitsPort = policies.some((np) =>
      (np.spec.ingress ?? []).some((rule: { ports?: { port: number | string }[] }) => (rule.ports ?? []).some((p) => p.port === poolPort || p.port === 'http')),
    );
    expect(admitsPort).toBe(true);
    // What the policy cannot tell apart (a path), Nginx does: /chaos is answered, never proxied.
    expect(readTemplate()).toMatch(/location ~\* \^\/chaos\(\?:\/\|\$\) \{\s*default_type application\/json;\s*return 404/);
  });

  it('the webhooks come from Secrets that the manifests reference and never contain', () => {
    const alertmanager = container('alertmanager', 'alertmanager');
    // The webhook or the bot token, each optional, one of them required by the entrypoint: without either
    // Alertmanager does not start, rather than run unheard.
    for (const key of ['ALERTMANAGER_SLACK_WEBHOOK_URL', 'ALERTMANAGER_SLACK_BOT_TOKEN', 'ALERTMANAGER_SLACK_CHANNEL']) {
      expect(envSource(alertmanager, key)?.secret, key).toEqual({ name: 'alertmanager', key, optional: true });
    }
    expect(envSource(alertmanager, 'ALERTMANAGER_SLACK_REQUIRED')?.value).toBe('true');
    expect(envSource(container('nginx', 'watcher'), 'HEARTBEAT_URL')?.secret).toMatchObject({ name: 'watcher', key: 'HEARTBEAT_URL', optional: true });
    expect(envSource(container('app-blue', 'app'), 'CHAOS_TOKEN')?.secret).toMatchObject({ key: 'CHAOS_TOKEN' });
    expect(all('Secret')).toEqual([]);
    const secretNames = ['SLACK_WEBHOOK_URL', 'SLACK_BOT_TOKEN', 'HEARTBEAT_URL', 'CHAOS_TOKEN', 'ALERTMANAGER_SLACK_WEBHOOK_URL', 'ALERTMANAGER_SLACK_BOT_TOKEN'];
    for (const cm of all('ConfigMap')) {
      expect(Object.keys(cm.data ?? {}).filter((k) => secretNames.includes(k)), describeObject(cm)).toEqual([]);
    }
    for (const p of podTemplates(objects)) {
      for (const c of p.containers) {
        const literal = (c.env ?? []).filter((e: { name: string; value?: string }) => secretNames.includes(e.name) && e.value !== undefined);
        expect(literal, `${describeObject(p.owner)} ${c.name}`).toEqual([]);
      }
    }
    // Alertmanager's config names the files the entrypoint writes the webhook and the bot token to,
    // never either: its only api_url is Slack's public Web API method, and no credential is inline.
    const config = configMap('alertmanager-config').data['alertmanager.yml.template'] as string;
    expect(config).toMatch(/^\s*api_url_file: \S+ #webhook$/m);
    expect(config).toMatch(/^\s*credentials_file: \S+ #bot-token$/m);
    expect([...config.matchAll(/\bapi_url: (\S+)/g)].map((m) => m[1])).toEqual(['https://slack.com/api/chat.postMessage']);
    expect(config).not.toMatch(/\b(credentials|app_token|bot_token):/);
    expect(JSON.stringify(objects)).not.toMatch(/hooks\.slack\.com|https:\/\/hc-ping/);
  });

  it('every workload of more than one replica has a disruption budget that keeps a pod up and lets a node drain; a single pod has none', () => {
    expect(workloads().map(describeObject).sort()).toEqual(['Deployment/app-blue', 'Deployment/app-green', 'StatefulSet/alertmanager', 'StatefulSet/nginx']);
    for (const d of workloads()) {
      const budgets = all('PodDisruptionBudget').filter((b) => selects(b.spec.selector, d.spec.template.metadata.labels));
      const replicas = (d.spec.replicas ?? 1) as number;
      if (replicas === 1) {
        // minAvailable: 1 of 1 would refuse every eviction: no node could drain.
        expect(budgets.map(describeObject), `${describeObject(d)}: one pod, no budget`).toEqual([]);
        continue;
      }
      expect(budgets.map(describeObject), describeObject(d)).toHaveLength(1);
      const { minAvailable, maxUnavailable } = budgets[0]!.spec;
      if (minAvailable !== undefined) expect(minAvailable >= 1 && minAvailable < replicas, describeObject(d)).toBe(true);
      else expect(maxUnavailable >= 1 && maxUnavailable < replicas, describeObject(d)).toBe(true);
    }
    // What serves clients, and watches them, runs more than one pod.
    for (const name of ['app-blue', 'app-green', 'nginx']) expect(pod(name).owner.spec.replicas, name).toBeGreaterThan(1);
  });

  it('images are the stack\'s two and Compose\'s Alertmanager, and every placeholder is replaced', () => {
    const images = podTemplates(objects).flatMap((p) => p.containers.map((c) => `${c.name}=${c.image}`));
    expect(images.length).toBe(5);
    for (const image of images) {
      expect(image).toMatch(/^(app=bluegreen-node|watcher=bluegreen-node|nginx=bluegreen-nginx|alertmanager=prom\/alertmanager):[\w.-]+$/);
    }
    // The version Compose's alertmanager profile runs by default.
    const tag = /^prom\/alertmanager:\$\{ALERTMANAGER_VERSION:-([\w.-]+)\}$/.exec(String(compose().services.alertmanager?.image))?.[1];
    expect(tag).toBeDefined();
    expect(container('alertmanager', 'alertmanager').image).toBe(`prom/alertmanager:${tag}`);
  });

  it('the pools are the same but for their colour', () => {
    const text = (o: K8sObject) => JSON.stringify(o).replace(/-[a-z0-9]{10}"/g, '"');
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) {
      expect(text(one(kind, 'app-green')).replace(/\bgreen\b/g, 'blue'), kind).toBe(text(one(kind, 'app-blue')));
    }
    expect(envSource(container('app-blue', 'app'), 'APP_POOL')?.value).toBe('blue');
    expect(envSource(container('app-green', 'app'), 'APP_POOL')?.value).toBe('green');
  });


  it('every setting Compose gives a value to, Kubernetes gives too', () => {
    // Compose's `${VAR:-}` (or nested such) leaves the program's own default: not required.
    const programDefault = /^(\$\{[A-Z0-9_]+:-)+\}+$/;
    const secrets = new Set(['SLACK_WEBHOOK_URL', 'SLACK_BOT_TOKEN', 'HEARTBEAT_URL', 'CHAOS_TOKEN', 'ALERTMANAGER_SLACK_WEBHOOK_URL', 'ALERTMANAGER_SLACK_BOT_TOKEN']);
    const pairs: [string, string, string][] = [
      ['app_blue', 'app-blue', 'app'],
      ['app_green', 'app-green', 'app'],
      ['nginx', 'nginx', 'nginx'],
      ['alert_watcher', 'nginx', 'watcher'],
      ['alertmanager', 'alertmanager', 'alertmanager'],
    ];
    const nginxReplicas = one('StatefulSet', 'nginx').spec.replicas as number;
    let checked = 0;
    for (const [service, workload, name] of pairs) {
      const env = compose().services[service]?.environment ?? {};
      expect(Object.keys(env).length, service).toBeGreaterThan(0);
      const c = container(workload, name);
      for (const [key, value] of Object.entries(env)) {
        // As the alertmanager profile sets it (docs/alertmanager.md): empty, with more than one watcher.
        if ((key === 'SLACK_WEBHOOK_URL' || key === 'SLACK_BOT_TOKEN') && name === 'watcher' && nginxReplicas > 1) {
          expect(envSource(c, key), `${service} ${key}: none with ${nginxReplicas} watchers`).toBeUndefined();
          continue;
        }
        if (secrets.has(key)) {
          expect(envSource(c, key)?.secret, `${service} ${key}`).toBeDefined();
          continue;
        }
        if (programDefault.test(String(value))) continue;
        // Nginx's pool comes from the ConfigMap active-pool as a file, not the environment (the switch test above).
        if (key === 'ACTIVE_POOL' && name === 'nginx') {
          expect(envSource(c, key), `${service} ${key}: a file on Kubernetes`).toBeUndefined();
          expect(volumeAt(pod(workload), c, njsPath('CONTROL_FILE'))?.volume?.configMap?.name, `${service} ${key}`).toBe('active-pool');
          continue;
        }
        checked++;
        expect(envSource(c, key), `${service} sets ${key}; ${workload}/${name} does not`).toBeDefined();
      }
    }
    expect(checked).toBeGreaterThan(8);
    // Alertmanager starts as Compose starts it.
    const alertmanager = container('alertmanager', 'alertmanager');
    expect(alertmanager.command).toEqual(compose().services.alertmanager?.entrypoint);
    expect(alertmanager.args ?? []).toEqual(compose().services.alertmanager?.command ?? []);
  });

  // --- State that outlives the pod, and Alertmanager whenever there is more than one watcher ---

  it('every StatefulSet is governed by a headless Service that selects its pods; Nginx rolls one named pod at a time', () => {
    const sets = all('StatefulSet');
    expect(sets.map(describeObject).sort()).toEqual(['StatefulSet/alertmanager', 'StatefulSet/nginx']);
    for (const sts of sets) {
      const svc = one('Service', sts.spec.serviceName);
      expect(svc.spec.clusterIP, describeObject(svc)).toBe('None');
      expect(serviceSelects(svc.spec.selector, sts.spec.template.metadata.labels), `${describeObject(svc)} selects ${describeObject(sts)}`).toBe(true);
      expect(selects(sts.spec.selector, sts.spec.template.metadata.labels), describeObject(sts)).toBe(true);
      expect(sts.spec.podManagementPolicy, describeObject(sts)).toBe('Parallel');
      expect(sts.spec.updateStrategy?.type, describeObject(sts)).toBe('RollingUpdate');
      // One at a time: no partition holding pods back, no maxUnavailable (behind a feature gate) taking two down.
      expect(sts.spec.updateStrategy?.rollingUpdate ?? {}, describeObject(sts)).toEqual({});
    }
    const nginx = one('StatefulSet', 'nginx');
    expect(nginx.spec.replicas).toBe(2);
    expect(nginx.spec.serviceName).toBe('watcher');
    // The `instance` label is the pod's name, which a StatefulSet keeps across restarts, as the state.
    expect(envSource(container('nginx', 'watcher'), 'ALERTMANAGER_INSTANCE')?.field).toBe('metadata.name');
  });

  it('the watcher\'s CONTROL_DIR is a volume claimed per pod, not an emptyDir, and its group may write it; the access log stays an emptyDir', () => {
    const list = watchers();
    expect(list.length).toBeGreaterThan(0);
    for (const { p, c } of list) {
      const where = `${describeObject(p.owner)} container ${c.name}`;
      expect(p.owner.kind, where).toBe('StatefulSet');
      const dir = envSource(c, 'CONTROL_DIR')?.value;
      expect(dir, `${where}: CONTROL_DIR`).toBeDefined();
      const at = volumeAt(p, c, dir!);
      expect(at, `${where}: a volume at ${dir}`).toBeDefined();
      expect(at!.mount.readOnly ?? false, where).toBe(false);
      expect(at!.volume, `${where}: CONTROL_DIR on a pod volume (${JSON.stringify(at!.volume)}) is lost with the pod`).toBeUndefined();
      const claim = at!.claim;
      expect(claim, `${where}: CONTROL_DIR claimed per pod (volumeClaimTemplates)`).toBeDefined();
      expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(claim.spec.resources?.requests?.storage).toMatch(/^\d+(Mi|Gi)$/);
      // The cluster's default class.
      expect(claim.spec.storageClassName).toBeUndefined();
      // A provisioned volume is root's: the kubelet gives it to the watcher's group, or the watcher cannot start.
      const group = c.securityContext?.runAsGroup ?? p.spec.securityContext?.runAsGroup;
      expect(group, where).toBeGreaterThan(0);
      expect(p.spec.securityContext?.fsGroup, `${where}: fsGroup`).toBe(group);
      // Scaled down, the state goes: scaled up later, the pod must not bring back incidents long over.
      expect(p.owner.spec.persistentVolumeClaimRetentionPolicy?.whenScaled, where).toBe('Delete');
      // The checkpoint survives the pod, not the log: a new pod's log is new.
      const log = volumeAt(p, c, envSource(c, 'LOG_PATH')!.value!);
      expect(log?.volume?.emptyDir, `${where}: the access log`).toBeDefined();
      expect(log?.claim, `${where}: the access log`).toBeUndefined();
    }
  });

  it('every watcher\'s ALERTMANAGER_URL names the Service alertmanager, which selects the Alertmanager pods on a port they declare', () => {
    const svc = one('Service', 'alertmanager');
    const sts = one('StatefulSet', 'alertmanager');
    const am = pod('alertmanager');
    // The Service's pods are Alertmanager's, and only those.
    expect(podTemplates(objects).filter((p) => serviceSelects(svc.spec.selector, p.labels)).map((p) => describeObject(p.owner))).toEqual(['StatefulSet/alertmanager']);
    const ns = svc.metadata.namespace;
    const names = (base: string) => [base, `${base}.${ns}`, `${base}.${ns}.svc`, `${base}.${ns}.svc.cluster.local`];
    // The Service, or (an HA pair) each member by its own name under the governing Service.
    const members = Array.from({ length: (sts.spec.replicas ?? 1) as number }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}`);
    const allowed = new Set([...names(svc.metadata.name), ...members.flatMap(names)]);
    // Alertmanager listens on --web.listen-address, :9093 unless its args say otherwise.
    const listen = ((am.containers[0].args ?? []) as string[]).find((a) => a.startsWith('--web.listen-address='))?.split('=')[1] ?? ':9093';
    const listening = Number(listen.split(':').pop());
    const declared = (am.spec.containers as Container[]).flatMap((c) => (c.ports ?? []) as { name?: string; containerPort: number }[]);
    const stacks = new Set<string>();
    for (const { p, c } of watchers()) {
      const where = `${describeObject(p.owner)} container ${c.name}`;
      const raw = envSource(c, 'ALERTMANAGER_URL')?.value ?? '';
      // As the watcher reads it: URLs separated by commas or spaces.
      const urls = watcherConfigSchema.shape.ALERTMANAGER_URL.parse(raw);
      expect(urls.length, `${where}: ALERTMANAGER_URL`).toBeGreaterThan(0);
      for (const u of urls) {
        const url = new URL(u);
        expect(allowed.has(url.hostname), `${where}: ${u} names the Service ${svc.metadata.name} or one of its members`).toBe(true);
        const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
        const servicePort = (svc.spec.ports as { port: number; targetPort?: number | string }[]).find((sp) => sp.port === port);
        expect(servicePort, `${where}: ${u}: the Service has port ${port}`).toBeDefined();
        const target = servicePort!.targetPort ?? servicePort!.port;
        const containerPort = typeof target === 'string' ? declared.find((cp) => cp.name === target)?.containerPort : declared.find((cp) => cp.containerPort === target)?.containerPort;
        expect(containerPort, `${where}: ${u}: Alertmanager's pod declares the target port ${target}`).toBeDefined();
        // Headless: the watcher connects to the pod itself, on the URL's port, with no translation.
        expect(containerPort, `${where}: ${u}`).toBe(port);
        expect(listening, `${where}: ${u}: Alertmanager listens there`).toBe(port);
      }
      const stack = envSource(c, 'ALERTMANAGER_STACK')?.value;
      expect(stack, `${where}: ALERTMANAGER_STACK`).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
      stacks.add(stack!);
    }
    // One stack: every watcher's alerts group together, and one silence holds them all.
    expect(stacks.size).toBe(1);
  });

  it('with more than one Nginx pod, the watchers have no Slack webhook of their own: Slack hears incidents from Alertmanager only', () => {
    /** Every way a container could be given SLACK_WEBHOOK_URL: an env entry, a whole Secret (its keys are not in the manifests), a ConfigMap that holds it. */
    const webhookSources = (c: Container): string[] => {
      const found: string[] = [];
      for (const e of c.env ?? []) if (e.name === 'SLACK_WEBHOOK_URL') found.push(`env ${JSON.stringify(e.valueFrom ?? { value: e.value })}`);
      for (const from of c.envFrom ?? []) {
        if (from.secretRef !== undefined) found.push(`envFrom Secret ${from.secretRef.name}`);
        const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
        if (Object.keys(cm?.data ?? {}).some((k) => `${from.prefix ?? ''}${k}` === 'SLACK_WEBHOOK_URL')) found.push(`envFrom ConfigMap ${cm!.metadata.name}`);
      }
      return found;
    };
    let checked = 0;
    for (const { p, c } of watchers()) {
      if (((p.owner.spec.replicas ?? 1) as number) <= 1) continue;
      const where = `${describeObject(p.owner)} (${p.owner.spec.replicas} watchers) container ${c.name}`;
      expect(webhookSources(c), where).toEqual([]);
      // Without a webhook the watcher is Alertmanager-only, not dry-run, only if it has an Alertmanager.
      expect(envSource(c, 'ALERTMANAGER_URL')?.value ?? '', `${where}: ALERTMANAGER_URL`).not.toBe('');
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    // The check sees a webhook given back either way.
    const planted = structuredClone(container('nginx', 'watcher'));
    planted.env.push({ name: 'SLACK_WEBHOOK_URL', valueFrom: { secretKeyRef: { name: 'watcher', key: 'SLACK_WEBHOOK_URL' } } });
    planted.envFrom.push({ secretRef: { name: 'watcher' } });
    expect(webhookSources(planted)).toHaveLength(2);
  });

  it('the Alertmanager ConfigMap is monitoring/alertmanager.yml and monitoring/alertmanager-entrypoint.sh themselves, mounted where Compose mounts them', () => {
    const p = pod('alertmanager');
    const am = container('alertmanager', 'alertmanager');
    const mounted = ((compose().services.alertmanager?.volumes ?? []) as string[]).filter((v) => v.startsWith('./monitoring/'));
    expect(mounted.length).toBe(2);
    for (const entry of mounted) {
      const [source, target] = entry.split(':') as [string, string];
      const at = volumeAt(p, am, target);
      expect(at?.volume?.configMap, `${target}: from a ConfigMap`).toBeDefined();
      expect(at!.mount.readOnly).toBe(true);
      // The whole ConfigMap, each key a file: no items renaming them.
      expect(at!.volume.configMap.items).toBeUndefined();
      const cm = one('ConfigMap', at!.volume.configMap.name);
      expect(cm.data?.[path.posix.relative(at!.mount.mountPath, target)], `${target} is ${source} itself`).toBe(read(source.replace(/^\.\//, '')));
    }
    expect(Object.keys(configMap('alertmanager-config').data).sort()).toEqual(['alertmanager.yml.template', 'entrypoint.sh']);
    // One copy each, the ones scripts/k8s-files.sh keeps: neither file's text anywhere else under deploy/.
    const copies = kustomizationFiles().filter((f) => {
      const text = read(path.join(KUSTOMIZATION_DIR, f));
      return text.includes('slack_configs:') || text.includes('group_wait=$(duration');
    });
    expect(copies.sort()).toEqual(['files/alertmanager-entrypoint.sh', 'files/alertmanager.yml']);
    const entrypoint = read('monitoring/alertmanager-entrypoint.sh');
    // It runs the mounted script, which reads the mounted template.
    expect(am.command[0]).toBe('/bin/sh');
    expect(volumeAt(p, am, am.command[1])?.volume?.configMap).toBeDefined();
    const template = /\s(\/etc\/alertmanager\/\S+\.template)\b/.exec(entrypoint)?.[1];
    expect(template).toBeDefined();
    expect(mounted.map((m) => m.split(':')[1])).toContain(template);
    // Where it writes: the webhook and the rendered config in memory, never on the node's disk...
    const dir = /^dir=(\S+)$/m.exec(entrypoint)?.[1];
    expect(dir).toBeDefined();
    const tmp = volumeAt(p, am, dir!);
    expect(tmp?.volume?.emptyDir?.medium, `${dir}: an in-memory emptyDir`).toBe('Memory');
    expect(tmp!.mount.readOnly ?? false).toBe(false);
    const apiUrlFile = /api_url_file:\s*(\S+)/.exec(read('monitoring/alertmanager.yml'))?.[1];
    expect(apiUrlFile?.startsWith(`${dir}/`), `${apiUrlFile} under ${dir}`).toBe(true);
    // ...and silences and the notification log on a volume of its own, which outlives the pod.
    const storage = /--storage\.path=(\S+)/.exec(entrypoint)?.[1];
    expect(storage).toBeDefined();
    const data = volumeAt(p, am, storage!);
    expect(data?.volume, `${storage}: not a pod volume`).toBeUndefined();
    expect(data?.claim?.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(data?.claim?.spec?.storageClassName).toBeUndefined();
    // As the image's user, nobody, whose group the kubelet gives that volume.
    expect(p.spec.securityContext?.runAsUser).toBe(65534);
    expect(p.spec.securityContext?.fsGroup).toBe(p.spec.securityContext?.runAsGroup);
    // Alertmanager's own health and readiness endpoints.
    expect(am.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(am.readinessProbe.httpGet.path).toBe('/-/ready');
  });

  it('Alertmanager\'s timings: group_wait shorter than the watchers\' resend interval, reminders as often as the watcher\'s', () => {
    const entrypoint = read('monitoring/alertmanager-entrypoint.sh');
    // The characters the entrypoint accepts in a duration (its `case`), and Alertmanager's units.
    const accepted = new RegExp(`^[${/\*\[!([^\]]+)\]\*/.exec(entrypoint)?.[1] ?? ''}]+$`);
    const UNIT: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
    const seconds = (name: string): number => {
      const value = envSource(container('alertmanager', 'alertmanager'), name)?.value;
      expect(value, `${name} is set`).toBeDefined();
      expect(value, `${name}: the entrypoint accepts it`).toMatch(accepted);
      const parts = [...value!.matchAll(/(\d+)(ms|s|m|h|d)/g)];
      expect(parts.map((m) => m[0]).join(''), `${name}: a duration`).toBe(value);
      return parts.reduce((sum, m) => sum + Number(m[1]) * UNIT[m[2]!]!, 0);
    };
    const groupWait = seconds('ALERTMANAGER_GROUP_WAIT');
    const groupInterval = seconds('ALERTMANAGER_GROUP_INTERVAL');
    const repeatInterval = seconds('ALERTMANAGER_REPEAT_INTERVAL');
    expect(groupWait).toBeGreaterThan(0);
    expect(groupInterval).toBeGreaterThanOrEqual(groupWait);
    for (const { p, c } of watchers()) {
      const where = `${describeObject(p.owner)} container ${c.name}`;
      // An incident told after the fact fires for one resend interval: it must outlast group_wait to be notified.
      const resend = watcherConfigSchema.shape.ALERTMANAGER_RESEND_SEC.parse(envSource(c, 'ALERTMANAGER_RESEND_SEC')?.value);
      expect(groupWait, `${where}: group_wait < ALERTMANAGER_RESEND_SEC (${resend} s)`).toBeLessThan(resend);
      // monitoring/alertmanager.yml: repeat_interval is the watcher's ALERT_REMIND_SEC.
      const remind = watcherConfigSchema.shape.ALERT_REMIND_SEC.parse(envSource(c, 'ALERT_REMIND_SEC')?.value);
      expect(repeatInterval, `${where}: repeat_interval = ALERT_REMIND_SEC (${remind} s)`).toBe(remind);
    }
  });

  it('only the watchers and the operator reach Alertmanager, on the port the watchers post to', () => {
    const am = pod('alertmanager');
    const port = container('alertmanager', 'alertmanager').ports.find((p: { name: string }) => p.name === 'http').containerPort;
    const policies = all('NetworkPolicy').filter((np) => selects(np.spec.podSelector, am.labels));
    expect(policies.map(describeObject)).toEqual(['NetworkPolicy/alertmanager']);
    const watcherPods = watchers().map(({ p }) => p.labels);
    expectPeersOnly(policies, watcherPods);
    /** Whether a pod with `labels` may open `port` on Alertmanager. */
    const admitted = (labels: Record<string, string>) =>
      policies.some((np) =>
        (np.spec.ingress ?? []).some(
          (rule: { from?: { podSelector?: any }[]; ports?: { port: number | string }[] }) =>
            (rule.from ?? []).some((peer) => selects(peer.podSelector, labels)) &&
            ((rule.ports ?? []).length === 0 || rule.ports!.some((p) => p.port === port || p.port === 'http')),
        ),
      );
    for (const labels of watcherPods) expect(admitted(labels), JSON.stringify(labels)).toBe(true);
    expect(admitted({ role: 'operator' })).toBe(true);
    for (const other of ['app-blue', 'app-green', 'alertmanager']) expect(admitted(pod(other).labels), other).toBe(false);
    // Ingress only, as every policy here: Alertmanager's way out to Slack stays open.
    expect(all('NetworkPolicy').filter((np) => (np.spec.policyTypes as string[]).includes('Egress')).map(describeObject)).toEqual([]);
  });
});
