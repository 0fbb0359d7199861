// Security properties checked on the running Compose stack, from the outside
// (raw HTTP on the published ports) and from inside the running containers
// (docker inspect, /proc), never from the files that describe them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  ROOT,
  containerId,
  docker,
  getVersion,
  rawHttp,
  sampleTraffic,
  summarize,
  waitForAlert,
  waitForServing,
  type Stack,
  startStack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e security');

const CHAOS_TOKEN = 'e2e-chaos-token-0123456789abcdef';
// Parts of the webhook URL that test/e2e/receiver.compose.yml gives the watcher.
const WEBHOOK_SECRETS = ['e2e-webhook-secret', 'T0E2E/B0E2E'];
const SERVICES = ['app_blue', 'app_green', 'alert_watcher', 'nginx'] as const;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const direct = (pool: 'blue' | 'green', path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${PORTS[pool]}${path}`, { method: 'POST', headers });

interface ProcessInfo {
  cmd: string;
  uids: number[];
  capEff: bigint;
  capBnd: bigint;
  noNewPrivs: string;
}

/** Every process of a running container, as its kernel sees it. */
async function processes(id: string): Promise<ProcessInfo[]> {
  const script = `for d in /proc/[0-9]*; do
    cmd=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
    st=$(grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "$d/status" 2>/dev/null | tr '\\t\\n' ' |') || continue
    printf '%s#%s\\n' "$cmd" "$st"
  done`;
  const out = await docker('exec', id, 'sh', '-c', script);
  return out
    .trim()
    .split('\n')
    .filter((line) => line.includes('CapEff:')) // not a process that ended while listed
    .map((line) => {
      const [cmd = '', status = ''] = line.split('#');
      const field = (name: string) => new RegExp(`${name}: +([^|]+)`).exec(status)?.[1]?.trim() ?? '';
      return {
        cmd: cmd.trim(),
        uids: field('Uid').split(/\s+/).map(Number),
        capEff: BigInt(`0x${field('CapEff')}`),
        capBnd: BigInt(`0x${field('CapBnd')}`),
        noNewPrivs: field('NoNewPrivs'),
      };
    });
}

interface Inspected {
  Config: { User: string };
  HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] | null; SecurityOpt: string[] | null };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

const inspect = async (id: string) => (JSON.parse(await docker('inspect', id)) as Inspected[])[0]!;

// Capability bits: CHOWN 0, SETGID 6, SETUID 7, NET_BIND_SERVICE 10.
const NGINX_CAPS = (1n << 0n) | (1n << 6n) | (1n << 7n) | (1n << 10n);

describe.skipIf(!enabled)('security of the Compose stack', () => {
  let stack: Stack;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack('security', { CHAOS_TOKEN });
    for (const service of SERVICES) ids[service] = await containerId(stack, service);
  });

  afterAll(async () => {
    await stack?.down();
  });

  describe('/chaos through the public port', () => {
    const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'post'];
    // Nginx answers these itself: after decoding and normalising, each is /chaos or /chaos/…
    const BLOCKED = [
      '/chaos',
      '/chaos/',
      '/chaos/start?mode=error',
      '/chaos/stop',
      '/CHAOS/start?mode=error',
      '/Chaos/Stop',
      '/cHaOs/start?mode=error',
      '/%63haos/start?mode=error',
      '/%63%68%61%6F%73/stop',
      '/chaos%2Fstart?mode=error',
      '/chaos%2fstop',
      '//chaos/start?mode=error',
      '/./chaos/start?mode=error',
      '/x/../chaos/start?mode=error',
      '/x/%2e%2e/chaos/start?mode=error',
      '/chaos/./start?mode=error',
      'http://127.0.0.1/chaos/start?mode=error',
      'http://app_blue:3000/chaos/start?mode=error',
    ];
    // Not chaos paths for Nginx either; the app gets them verbatim and has no such route.
    const PASSED_THROUGH = ['/%2563haos/start?mode=error', '/chaos;/start?mode=error', '/chaos%20/start?mode=error'];

    const send = (method: string, target: string, version: string) =>
      rawHttp(PORTS.nginx, `${method} ${target} ${version}\r\nHost: localhost\r\nConnection: close\r\n\r\n`);

    it.each(['HTTP/1.1', 'HTTP/1.0'])('no method, case or encoding reaches a chaos route (%s)', async (version) => {
      const seen: string[] = [];
      for (const method of METHODS) {
        for (const target of [...BLOCKED, ...PASSED_THROUGH]) {
          const reply = await send(method, target, version);
          seen.push(`${method} ${target} -> ${reply.status}`);
          const what = `${method} ${target} ${version}: ${reply.status} ${reply.body}`;
          // 401 would mean a chaos route was reached and only the token stopped it.
          expect([400, 404, 405], what).toContain(reply.status);
          expect(reply.body, what).not.toMatch(/chaos (activated|stopped)/);
          const answeredByNginx = BLOCKED.includes(target) || method === 'post' || method === 'TRACE';
          expect(reply.headers['x-app-pool'] === undefined, what).toBe(answeredByNginx);
        }
      }
      console.log(`[security] ${seen.length} requests for /chaos through port ${PORTS.nginx}, none reached chaos`);
      for (const pool of ['blue', 'green'] as const) {
        const ready = await fetch(`http://127.0.0.1:${PORTS[pool]}/readyz`);
        expect(ready.status, `${pool} /readyz: chaos must still be off`).toBe(200);
      }
    });
  });

  it('publishes the pool and watcher ports on 127.0.0.1 only', async () => {
    for (const service of ['app_blue', 'app_green', 'alert_watcher']) {
      const bindings = Object.values((await inspect(ids[service]!)).NetworkSettings.Ports).flatMap((b) => b ?? []);
      expect(bindings.length, service).toBeGreaterThan(0);
      for (const binding of bindings) expect(binding.HostIp, service).toBe('127.0.0.1');
    }
    // From outside loopback (the host's address on the stack's own network):
    // Nginx answers there, a pool port does not.
    const network = (await docker('inspect', '-f', '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}', ids.nginx!)).trim();
    const gateway = (await docker('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', network)).trim();
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await fetch(`http://${gateway}:${PORTS.nginx}/version`)).status).toBe(200);
    for (const port of [PORTS.blue, PORTS.green, PORTS.watcher]) {
      await expect(fetch(`http://${gateway}:${port}/healthz`), `port ${port} on ${gateway}`).rejects.toThrow();
    }
  });

  it('chaos on a direct port needs the CHAOS_TOKEN bearer token; make chaos sends it from the env file', async () => {
    for (const headers of [{}, bearer('e2e-chaos-token-0123456789abcdeX'), { Authorization: CHAOS_TOKEN }]) {
      const res = await direct('blue', '/chaos/start?mode=error', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="chaos"');
      expect(await res.text()).not.toContain(CHAOS_TOKEN);
    }
    expect((await fetch(`http://127.0.0.1:${PORTS.blue}/readyz`)).status).toBe(200);

    const since = Date.now();
    const out = await stack.make('chaos');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('chaos activated');
    expect(summarize(await sampleTraffic(10, 1_000))).toMatchObject({ non200: 0, green: 1 });
    // Delivered through the webhook: the secret check below covers a real delivery.
    await waitForAlert('Failover detected', since, 10_000);

    const stop = await stack.make('chaos-stop');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.match(/chaos stopped/g)).toHaveLength(2);
    await waitForServing('blue', 15_000);
    await waitForAlert('Recovered', since, 10_000);
  });

  it('runs the app and watcher as non-root, read-only, with no capabilities', async () => {
    for (const service of ['app_blue', 'app_green', 'alert_watcher']) {
      const id = ids[service]!;
      const info = await inspect(id);
      expect(info.Config.User, service).toBe('node');
      expect(info.HostConfig.ReadonlyRootfs, service).toBe(true);
      expect(info.HostConfig.CapDrop, service).toEqual(['ALL']);
      expect(info.HostConfig.SecurityOpt, service).toContain('no-new-privileges:true');

      const procs = await processes(id);
      expect(procs.some((p) => p.cmd.startsWith('node dist/')), service).toBe(true);
      for (const p of procs) {
        const what = `${service}: ${p.cmd}`;
        expect(p.uids.every((uid) => uid > 0), what).toBe(true);
        expect(p.capEff, what).toBe(0n);
        expect(p.capBnd, what).toBe(0n);
        expect(p.noNewPrivs, what).toBe('1');
      }
      await expect(docker('exec', id, 'sh', '-c', 'echo x > /root-write-probe'), service).rejects.toThrow(/Read-only file system/);
    }
  });

  it('runs Nginx workers unprivileged, the master with only the capabilities it needs', async () => {
    const procs = await processes(ids.nginx!);
    const workers = procs.filter((p) => p.cmd.startsWith('nginx: worker process'));
    const master = procs.filter((p) => p.cmd.startsWith('nginx: master process'));
    expect(workers.length).toBeGreaterThan(0);
    expect(master).toHaveLength(1);
    const nginxUid = Number((await docker('exec', ids.nginx!, 'id', '-u', 'nginx')).trim());
    expect(nginxUid).toBeGreaterThan(0);
    for (const w of workers) {
      expect(w.uids).toEqual([nginxUid, nginxUid, nginxUid, nginxUid]);
      expect(w.capEff).toBe(0n);
    }
    for (const p of procs) {
      expect(p.capBnd, p.cmd).toBe(NGINX_CAPS);
      expect(p.noNewPrivs, p.cmd).toBe('1');
    }
  });

  it('never shows the webhook URL or the chaos token in logs, /stats or make status; .env is ignored by git', async () => {
    const logs = await stack.compose('logs', '--no-color', ...SERVICES);
    expect(logs).toContain('Failover detected');
    const stats = await (await fetch(`http://127.0.0.1:${PORTS.watcher}/stats`)).text();
    expect(stats.length).toBeGreaterThan(0);
    const status = await stack.make('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('Serving pool: blue');
    for (const [where, text] of Object.entries({ logs, stats, status: status.stdout + status.stderr })) {
      for (const secret of [...WEBHOOK_SECRETS, CHAOS_TOKEN]) expect(text, `${secret} in ${where}`).not.toContain(secret);
    }
    const ignored = await promisify(execFile)('git', ['check-ignore', '-v', '.env'], { cwd: ROOT });
    expect(ignored.stdout).toMatch(/\.gitignore:\d+:.*\.env/);
  });

  it('sends no version in the Server header or in Nginx’s own error pages', async () => {
    const replies = {
      'app 200': await rawHttp(PORTS.nginx, 'GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      'app 404': await rawHttp(PORTS.nginx, 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      'chaos 404': await rawHttp(PORTS.nginx, 'POST /chaos/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      'bad request 400': await rawHttp(PORTS.nginx, 'NOT A REQUEST\r\n\r\n'),
      'no host 400': await rawHttp(PORTS.nginx, 'GET /version HTTP/1.1\r\nConnection: close\r\n\r\n'),
    };
    for (const [name, reply] of Object.entries(replies)) {
      expect(reply.status, name).toBeGreaterThan(0);
      expect(reply.headers.server, name).toBe('nginx');
      expect(reply.headers, name).not.toHaveProperty('x-powered-by');
      expect(reply.body, name).not.toMatch(/nginx\/\d|1\.22/);
    }
    expect((await getVersion()).status).toBe(200);
  });
});
