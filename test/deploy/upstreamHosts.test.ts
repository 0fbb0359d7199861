// The pools' host names in Nginx's upstream block: Compose's service names by
// default, fully qualified Service names on Kubernetes (Nginx's resolver
// applies no search domains). nginx/docker-entrypoint.d/15-active-pool.envsh
// checks and exports BLUE_UPSTREAM_HOST and GREEN_UPSTREAM_HOST for the two
// upstreams (one per order of the pools); the template is rendered as the
// image's 20-envsubst-on-templates.sh does (every defined variable, `$X` and
// `${X}`). The control volume's file and the published pool are moved to a
// directory of the test's own (SERVING_POOL_FILE, PUBLISHED_POOL_FILE; the
// flag the template tests, serving-green, beside the latter), so the script
// neither reads /etc/bluegreen nor writes /var/log/bluegreen.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTemplate } from '../watcher/core/nginxTemplate.js';
import { kubectlMinor, requireKubectlOrSkip, ROOT } from './kubernetes.js';

const SCRIPT = path.join(ROOT, 'nginx/docker-entrypoint.d/15-active-pool.envsh');

interface Sourced {
  status: number | null;
  stderr: string;
  env: Record<string, string>;
}

let dir: string;
let controlFile: string;
let publishedFile: string;
/** The pool the template's per-request test of the flag picks. */
const flagged = () => (existsSync(path.join(dir, 'serving-green')) ? 'green' : 'blue');
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'active-pool-'));
  controlFile = path.join(dir, 'serving-pool');
  publishedFile = path.join(dir, 'active-pool');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Sources the script in sh with `env` only (plus PATH), and returns what it exported. */
function source(env: Record<string, string>): Sourced {
  const r = spawnSync('sh', ['-c', '. "$0" >/dev/null && env -0', SCRIPT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SERVING_POOL_FILE: controlFile, PUBLISHED_POOL_FILE: publishedFile, ...env },
    encoding: 'utf8',
  });
  const exported: Record<string, string> = {};
  for (const entry of r.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) exported[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { status: r.status, stderr: r.stderr, env: exported };
}

/** envsubst with every defined variable, as the official image renders templates. */
function envsubst(template: string, env: Record<string, string>): string {
  return template.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const value = env[(braced ?? bare)!];
    return value ?? whole;
  });
}

/** The server lines of the upstream proxy_pass uses, primary first: the flag's pool's. */
function upstreamServers(env: Record<string, string>): string[] {
  const conf = envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...env });
  const used = `${flagged()}_primary`;
  const block = new RegExp(`^upstream ${used} \\{([\\s\\S]*?)^\\}`, 'm').exec(conf)?.[1] ?? '';
  return [...block.matchAll(/^\s*server\s+([^;]+);/gm)].map((m) => m[1]!.trim());
}

describe('the upstream servers', () => {
  it('default to the Compose service names, primary first', () => {
    for (const [pool, active, backup] of [
      ['blue', 'app_blue', 'app_green'],
      ['green', 'app_green', 'app_blue'],
    ] as const) {
      const { status, env } = source({ ACTIVE_POOL: pool, APP_PORT: '3000' });
      expect(status).toBe(0);
      expect(upstreamServers(env)).toEqual([
        `${active}:3000 resolve max_fails=1 fail_timeout=5s`,
        `${backup}:3000 resolve backup max_fails=0`,
      ]);
    }
  });

  it('take the Kubernetes Service FQDNs from BLUE_UPSTREAM_HOST and GREEN_UPSTREAM_HOST', () => {
    const hosts = { BLUE_UPSTREAM_HOST: 'app-blue.bluegreen.svc.cluster.local', GREEN_UPSTREAM_HOST: 'app-green.bluegreen.svc.cluster.local' };
    const { status, env } = source({ ACTIVE_POOL: 'green', APP_PORT: '3000', ...hosts });
    expect(status).toBe(0);
    expect(upstreamServers(env)).toEqual([
      'app-green.bluegreen.svc.cluster.local:3000 resolve max_fails=1 fail_timeout=5s',
      'app-blue.bluegreen.svc.cluster.local:3000 resolve backup max_fails=0',
    ]);
    // Nothing in the rendered config is left unsubstituted.
    expect(envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...env })).not.toMatch(/\$\{/);
  });

  it('the rendered config is the same whatever the pool: the flag alone says which upstream proxy_pass uses', () => {
    const rendered = (pool: string) => envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...source({ ACTIVE_POOL: pool }).env });
    const green = rendered('green');
    expect(flagged()).toBe('green');
    expect(rendered('blue')).toBe(green);
    expect(flagged()).toBe('blue');
    expect(green).toMatch(/^\s*proxy_pass http:\/\/\$bg_upstream;$/m);
    // The flag the template tests is the one the entrypoint and the njs keep.
    const tested = /^\s*if \(-f (\S+)\) \{\s*set \$bg_upstream green_primary;/m.exec(green)?.[1];
    expect(tested).toBe('/var/log/bluegreen/serving-green');
    expect(readFileSync(path.join(ROOT, 'nginx/njs/serving-pool.js'), 'utf8')).toContain(`const FLAG_FILE = '${tested}';`);
    expect(path.dirname(tested!)).toBe(path.dirname(/PUBLISHED_POOL_FILE:-([^}]+)\}/.exec(readFileSync(SCRIPT, 'utf8'))![1]!));
  });

  it('an empty host is the default; a host that is not a host name stops the container', () => {
    expect(source({ ACTIVE_POOL: 'blue', BLUE_UPSTREAM_HOST: '' }).env.BLUE_UPSTREAM_HOST).toBe('app_blue');
    for (const bad of ['app blue', 'app;blue', 'app_blue:3000', '-app', '.app', 'a..b', '$(id)', 'app}']) {
      const r = source({ ACTIVE_POOL: 'blue', GREEN_UPSTREAM_HOST: bad });
      expect(r.status, bad).toBe(1);
      expect(r.stderr, bad).toContain(`GREEN_UPSTREAM_HOST must be a host name`);
    }
  });

  it('the pool is still checked first: a bad ACTIVE_POOL is refused whatever the hosts', () => {
    const r = source({ ACTIVE_POOL: 'purple', BLUE_UPSTREAM_HOST: 'app-blue.x.svc.cluster.local' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ACTIVE_POOL must be 'blue' or 'green'");
  });
});

describe('the pool Nginx starts with', () => {
  it('is ACTIVE_POOL until a switch wrote the control file, then the file, published for the watcher', () => {
    expect(source({ ACTIVE_POOL: 'green' }).env.ACTIVE_POOL).toBe('green');
    expect(readFileSync(publishedFile, 'utf8')).toBe('green\n');
    expect(flagged()).toBe('green');
    writeFileSync(controlFile, 'blue\n');
    const r = source({ ACTIVE_POOL: 'green' });
    expect(r.env.ACTIVE_POOL).toBe('blue');
    expect(readFileSync(publishedFile, 'utf8')).toBe('blue\n');
    expect(flagged()).toBe('blue');
    expect(r.stderr).toBe('');
  });

  it('refuses a bad control file with one line and keeps the pool it served last (or ACTIVE_POOL)', () => {
    writeFileSync(controlFile, 'purple\n');
    const first = source({ ACTIVE_POOL: 'green' });
    expect(first.status).toBe(0);
    expect(first.env.ACTIVE_POOL).toBe('green');
    writeFileSync(publishedFile, 'blue\n');
    const r = source({ ACTIVE_POOL: 'green' });
    expect(r.status).toBe(0);
    expect(r.env.ACTIVE_POOL).toBe('blue');
    expect(r.stderr.trim().split('\n')).toEqual([
      `active-pool: WARNING: refusing 'purple' in ${controlFile} (expected blue or green); starting with blue (from ${publishedFile})`,
    ]);
  });
});

describe('requireKubectlOrSkip', () => {
  const missing = 'kubectl-not-installed-here';

  it('finds no kubectl under a name that does not exist', () => {
    expect(kubectlMinor(missing)).toHaveProperty('missing');
  });

  it('fails loudly where kubectl is required (REQUIRE_DOCKER=1 or CI), skips visibly elsewhere', () => {
    expect(() => requireKubectlOrSkip('suite', { REQUIRE_DOCKER: '1' }, missing)).toThrow(/suite: kubectl is required here.*ensure-kubectl\.sh/);
    expect(() => requireKubectlOrSkip('suite', { CI: 'true' }, missing)).toThrow(/kubectl is required/);
    const warn = console.warn;
    const said: string[] = [];
    console.warn = (msg: string) => said.push(msg);
    try {
      expect(requireKubectlOrSkip('suite', {}, missing)).toBe(false);
    } finally {
      console.warn = warn;
    }
    expect(said.join('')).toMatch(/suite: SKIPPED/);
  });
});
