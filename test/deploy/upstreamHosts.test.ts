// The pools' host names in Nginx's upstream block: Compose's service names by
// default, fully qualified Service names on Kubernetes (Nginx's resolver
// applies no search domains). nginx/docker-entrypoint.d/15-active-pool.envsh
// checks and exports BLUE_UPSTREAM_HOST and GREEN_UPSTREAM_HOST for the two
// upstreams (one per order of the pools); the template is rendered as the
// image's 20-envsubst-on-templates.sh does (every defined variable, `$X` and
// `${X}`). Run with SWITCH_POOL_TO set, as switch-pool sources it, so the
// script neither reads /etc/nginx nor writes /var/log/bluegreen.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTemplate } from '../watcher/core/nginxTemplate.js';
import { kubectlMinor, requireKubectlOrSkip, ROOT } from './kubernetes.js';

const SCRIPT = path.join(ROOT, 'nginx/docker-entrypoint.d/15-active-pool.envsh');

interface Sourced {
  status: number | null;
  stderr: string;
  env: Record<string, string>;
}

/** Sources the script in sh with `env` only (plus PATH), and returns what it exported. */
function source(env: Record<string, string>): Sourced {
  const r = spawnSync('sh', ['-c', '. "$0" && env -0', SCRIPT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
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

/** The server lines of the upstream proxy_pass uses, primary first. */
function upstreamServers(env: Record<string, string>): string[] {
  const conf = envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...env });
  const used = /^\s*proxy_pass http:\/\/(\w+);/m.exec(conf)?.[1] ?? '';
  const block = new RegExp(`^upstream ${used} \\{([\\s\\S]*?)^\\}`, 'm').exec(conf)?.[1] ?? '';
  return [...block.matchAll(/^\s*server\s+([^;]+);/gm)].map((m) => m[1]!.trim());
}

describe('the upstream servers', () => {
  it('default to the Compose service names, primary first', () => {
    for (const [pool, active, backup] of [
      ['blue', 'app_blue', 'app_green'],
      ['green', 'app_green', 'app_blue'],
    ] as const) {
      const { status, env } = source({ SWITCH_POOL_TO: pool, APP_PORT: '3000' });
      expect(status).toBe(0);
      expect(upstreamServers(env)).toEqual([
        `${active}:3000 resolve max_fails=1 fail_timeout=5s`,
        `${backup}:3000 resolve backup max_fails=0`,
      ]);
    }
  });

  it('take the Kubernetes Service FQDNs from BLUE_UPSTREAM_HOST and GREEN_UPSTREAM_HOST', () => {
    const hosts = { BLUE_UPSTREAM_HOST: 'app-blue.bluegreen.svc.cluster.local', GREEN_UPSTREAM_HOST: 'app-green.bluegreen.svc.cluster.local' };
    const { status, env } = source({ SWITCH_POOL_TO: 'green', APP_PORT: '3000', ...hosts });
    expect(status).toBe(0);
    expect(upstreamServers(env)).toEqual([
      'app-green.bluegreen.svc.cluster.local:3000 resolve max_fails=1 fail_timeout=5s',
      'app-blue.bluegreen.svc.cluster.local:3000 resolve backup max_fails=0',
    ]);
    // Nothing in the rendered config is left unsubstituted.
    expect(envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...env })).not.toMatch(/\$\{/);
  });

  it('a switch changes only which upstream proxy_pass uses: each keeps its servers in the same roles', () => {
    const rendered = (pool: string) => envsubst(readTemplate(), { NGINX_LOCAL_RESOLVERS: '10.96.0.10', ...source({ SWITCH_POOL_TO: pool }).env });
    const withoutProxyPass = (conf: string) => conf.replace(/^\s*proxy_pass .*$/m, '');
    expect(withoutProxyPass(rendered('green'))).toBe(withoutProxyPass(rendered('blue')));
    expect(rendered('blue')).not.toBe(rendered('green'));
  });

  it('an empty host is the default; a host that is not a host name stops the container', () => {
    expect(source({ SWITCH_POOL_TO: 'blue', BLUE_UPSTREAM_HOST: '' }).env.BLUE_UPSTREAM_HOST).toBe('app_blue');
    for (const bad of ['app blue', 'app;blue', 'app_blue:3000', '-app', '.app', 'a..b', '$(id)', 'app}']) {
      const r = source({ SWITCH_POOL_TO: 'blue', GREEN_UPSTREAM_HOST: bad });
      expect(r.status, bad).toBe(1);
      expect(r.stderr, bad).toContain(`GREEN_UPSTREAM_HOST must be a host name`);
    }
  });

  it('the pool is still checked first: a bad ACTIVE_POOL is refused whatever the hosts', () => {
    const r = source({ ACTIVE_POOL: 'purple', SWITCH_POOL_TO: '', BLUE_UPSTREAM_HOST: 'app-blue.x.svc.cluster.local' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ACTIVE_POOL must be 'blue' or 'green'");
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
