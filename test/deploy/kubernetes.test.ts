// deploy/kubernetes/ rendered with `kubectl kustomize` and checked offline:
// every object against the Kubernetes OpenAPI schemas (kubernetes-models, the
// 1.33 spec), no field those schemas do not know, and the properties the
// design rests on (docs/kubernetes.md). No cluster: validated, not run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTemplate } from '../watcher/core/nginxTemplate.js';
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
  const pod = (deployment: string) => podTemplates(objects).find((p) => p.owner.kind === 'Deployment' && p.owner.metadata.name === deployment)!;
  const container = (deployment: string, name: string): Container => {
    const c = pod(deployment).containers.find((x) => x.name === name);
    expect(c, `${deployment} has a container ${name}`).toBeDefined();
    return c;
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

  beforeAll(() => {
    objects = parseObjects(kustomize());
  });

  it('renders the stack: namespace, pools, Nginx, settings, budgets, policies', () => {
    const kinds = objects.map(describeObject);
    for (const expected of ['Namespace/bluegreen', 'Deployment/app-blue', 'Deployment/app-green', 'Deployment/nginx', 'Service/app-blue', 'Service/app-green', 'Service/nginx', 'NetworkPolicy/pools']) {
      expect(kinds).toContain(expected);
    }
    expect(all('PodDisruptionBudget').length).toBeGreaterThan(0);
    // Everything but the Namespace lives in it.
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'bluegreen').map(describeObject)).toEqual([]);
  });

  it('every object is valid against its kind\'s Kubernetes OpenAPI schema', async () => {
    expect(await schemaProblems(objects)).toEqual([]);
  });

  it('the schema check rejects what the API server would (wrong type, missing field, unknown kind)', async () => {
    const deployment = structuredClone(one('Deployment', 'nginx'));
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
    // One copy: no template text anywhere under deploy/.
    const copies = readdirSync(path.join(ROOT, KUSTOMIZATION_DIR), { recursive: true, encoding: 'utf8' }).filter((f) =>
      read(path.join(KUSTOMIZATION_DIR, f).replace(/\\/g, '/')).includes('upstream blue_primary'),
    );
    expect(copies).toEqual([]);
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
    // Both start from the same serving pool.
    expect(envSource(watcher, 'ACTIVE_POOL')).toEqual(envSource(nginx, 'ACTIVE_POOL'));
    // The watcher listens where its port and probes say.
    expect(Number(envSource(watcher, 'WATCHER_PORT')?.value)).toBe(watcher.ports[0].containerPort);
    // The rotated log fits its volume: ACCESS_LOG_MAX_MB x (ACCESS_LOG_KEEP + 1), or the kubelet evicts the pod.
    const mb = Number(envSource(nginx, 'ACCESS_LOG_MAX_MB')?.value);
    const keep = Number(envSource(nginx, 'ACCESS_LOG_KEEP')?.value);
    const limit = /^(\d+)Mi$/.exec(spec.volumes.find((v: { name: string }) => v.name === under(nginx).name).emptyDir.sizeLimit)?.[1];
    expect(mb * (keep + 1) * 1e6).toBeLessThan(Number(limit) * 1024 * 1024);
  });

  it('the switch edits one ConfigMap by a stable name: ACTIVE_POOL, for Nginx and the watcher', () => {
    const source = envSource(container('nginx', 'nginx'), 'ACTIVE_POOL');
    expect(source?.configMap).toBe('active-pool');
    expect(['blue', 'green']).toContain(source?.value);
    one('ConfigMap', 'active-pool');
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
    expect(templates.length).toBe(3);
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
      app: read('app/server.ts'),
      watcher: read('watcher/main.ts'),
      nginx: readTemplate(),
    };
    const servesPath = (name: string, p: string) =>
      name === 'nginx' ? new RegExp(`location\\s*=\\s*${p}\\s*\\{`).test(served.nginx!) : served[name]!.includes(`'${p}'`);
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
    let admitsPort = false;
    for (const np of policies) {
      expect(np.spec.policyTypes).toContain('Ingress');
      for (const rule of np.spec.ingress ?? []) {
        // An empty `from` admits everyone.
        expect((rule.from ?? []).length, `${describeObject(np)}: a rule with no "from"`).toBeGreaterThan(0);
        for (const peer of rule.from) {
          expect(peer.namespaceSelector, `${describeObject(np)}: no other namespace`).toBeUndefined();
          expect(peer.ipBlock, `${describeObject(np)}: no address block`).toBeUndefined();
          const nginx = selects(peer.podSelector, nginxLabels);
          const operator = JSON.stringify(peer.podSelector?.matchLabels) === JSON.stringify({ role: 'operator' });
          expect(nginx || operator, `${describeObject(np)}: peer ${JSON.stringify(peer)}`).toBe(true);
        }
        if ((rule.ports ?? []).some((p: { port: number | string }) => p.port === poolPort || p.port === 'http')) admitsPort = true;
      }
    }
    expect(admitsPort).toBe(true);
    // What the policy cannot tell apart (a path), Nginx does: /chaos is answered, never proxied.
    expect(readTemplate()).toMatch(/location ~\* \^\/chaos\(\?:\/\|\$\) \{\s*default_type application\/json;\s*return 404/);
  });

  it('the webhook comes from a Secret that the manifests reference and never contain', () => {
    const watcher = container('nginx', 'watcher');
    expect(envSource(watcher, 'SLACK_WEBHOOK_URL')?.secret).toMatchObject({ key: 'SLACK_WEBHOOK_URL' });
    expect(envSource(watcher, 'HEARTBEAT_URL')?.secret).toMatchObject({ key: 'HEARTBEAT_URL' });
    expect(envSource(container('app-blue', 'app'), 'CHAOS_TOKEN')?.secret).toMatchObject({ key: 'CHAOS_TOKEN' });
    expect(all('Secret')).toEqual([]);
    const secretNames = ['SLACK_WEBHOOK_URL', 'HEARTBEAT_URL', 'CHAOS_TOKEN'];
    for (const cm of all('ConfigMap')) {
      expect(Object.keys(cm.data ?? {}).filter((k) => secretNames.includes(k)), describeObject(cm)).toEqual([]);
    }
    for (const p of podTemplates(objects)) {
      for (const c of p.containers) {
        const literal = (c.env ?? []).filter((e: { name: string; value?: string }) => secretNames.includes(e.name) && e.value !== undefined);
        expect(literal, `${describeObject(p.owner)} ${c.name}`).toEqual([]);
      }
    }
    expect(JSON.stringify(objects)).not.toMatch(/hooks\.slack\.com|https:\/\/hc-ping/);
  });

  it('every Deployment has a disruption budget that keeps a pod up and still lets a node drain', () => {
    const deployments = all('Deployment');
    expect(deployments.length).toBe(3);
    for (const d of deployments) {
      const budgets = all('PodDisruptionBudget').filter((b) => selects(b.spec.selector, d.spec.template.metadata.labels));
      expect(budgets.map(describeObject), describeObject(d)).toHaveLength(1);
      const { minAvailable, maxUnavailable } = budgets[0]!.spec;
      const replicas = d.spec.replicas as number;
      expect(replicas, describeObject(d)).toBeGreaterThan(1);
      if (minAvailable !== undefined) expect(minAvailable >= 1 && minAvailable < replicas, describeObject(d)).toBe(true);
      else expect(maxUnavailable >= 1 && maxUnavailable < replicas, describeObject(d)).toBe(true);
    }
  });

  it('images are the stack\'s two, and every placeholder is replaced', () => {
    const images = podTemplates(objects).flatMap((p) => p.containers.map((c) => `${c.name}=${c.image}`));
    expect(images.length).toBe(4);
    for (const image of images) expect(image).toMatch(/^(app=bluegreen-node|watcher=bluegreen-node|nginx=bluegreen-nginx):[\w.-]+$/);
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
    const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { environment?: Record<string, unknown> }> };
    const programDefault = /^(\$\{[A-Z0-9_]+:-)+\}+$/;
    const secrets = new Set(['SLACK_WEBHOOK_URL', 'HEARTBEAT_URL', 'CHAOS_TOKEN']);
    const pairs: [string, string, string][] = [
      ['app_blue', 'app-blue', 'app'],
      ['app_green', 'app-green', 'app'],
      ['nginx', 'nginx', 'nginx'],
      ['alert_watcher', 'nginx', 'watcher'],
    ];
    let checked = 0;
    for (const [service, deployment, name] of pairs) {
      const env = compose.services[service]?.environment ?? {};
      expect(Object.keys(env).length, service).toBeGreaterThan(0);
      const c = container(deployment, name);
      for (const [key, value] of Object.entries(env)) {
        if (secrets.has(key)) {
          expect(envSource(c, key)?.secret, `${service} ${key}`).toBeDefined();
          continue;
        }
        if (programDefault.test(String(value))) continue;
        checked++;
        expect(envSource(c, key), `${service} sets ${key}; ${deployment}/${name} does not`).toBeDefined();
      }
    }
    expect(checked).toBeGreaterThan(8);
  });
});
