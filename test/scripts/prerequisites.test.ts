// scripts/prerequisites.sh, run by `make test` first: one line per missing
// prerequisite with how to get it, and a stop only for a Node too old to run
// the tests. Run with a PATH that holds only what each case gives it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/prerequisites.sh');

/** A PATH of the shell's tools plus `extra` (name → script, or a real program's path). */
function run(extra: Record<string, string>, env: Record<string, string> = {}) {
  const bin = mkdtempSync(path.join(tmpdir(), 'bg-prereq-'));
  for (const tool of ['sed', 'head', 'cat']) symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
  for (const [name, body] of Object.entries(extra)) {
    if (body.startsWith('/')) symlinkSync(body, path.join(bin, name));
    else {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    }
  }
  const out = spawnSync('/bin/bash', [SCRIPT], { env: { PATH: bin, CHROMIUM_PATH: '/nonexistent/chromium', ...env }, encoding: 'utf8' });
  return { code: out.status, lines: out.stderr.trim().split('\n').filter(Boolean) };
}

describe('make test prerequisites', () => {
  it('names each missing one on a line of its own, with how to get it, and lets the run go on', () => {
    const { code, lines } = run({ node: process.execPath });
    expect(code).toBe(0);
    expect(lines).toEqual([
      'make test: no Docker engine answers (docker info): install Docker and start it; the end-to-end suites are skipped',
      'make test: no kubectl 1.29 or later (found: none): install it from https://kubernetes.io/docs/tasks/tools/; test/deploy is skipped',
      'make test: no Chromium at /nonexistent/chromium: apt-get install chromium, or set CHROMIUM_PATH; the status page\'s browser test is skipped',
    ]);
  });

  it('says nothing when all are there, and finds Compose v1-only and an old kubectl', () => {
    const docker = 'case "$1" in info) exit 0 ;; compose) exit 1 ;; esac';
    const kubectl = `echo '{"clientVersion": {"major": "1", "minor": "28"}}'`;
    const { lines } = run({ node: process.execPath, docker, kubectl, chromium: '/bin/true' }, { CHROMIUM_PATH: '/bin/true' });
    expect(lines).toEqual([
      'make test: no Compose v2 (docker compose version): install the docker-compose-plugin; the end-to-end suites are skipped',
      'make test: no kubectl 1.29 or later (found: 1.28): install it from https://kubernetes.io/docs/tasks/tools/; test/deploy is skipped',
    ]);
    const ok = run({ node: process.execPath, docker: 'exit 0', kubectl: `echo '{"clientVersion": {"minor": "32"}}'` }, { CHROMIUM_PATH: '/bin/true' });
    expect(ok).toEqual({ code: 0, lines: [] });
  });

  it('stops on a Node older than 22.19 (undici 8), saying which it found', () => {
    for (const version of ['v20.18.1', 'v22.18.0']) {
      const { code, lines } = run({ node: `echo ${version}` });
      expect(code).toBe(1);
      expect(lines).toEqual([`make test: Node.js 22.19 or later is needed (found: ${version}): install Node 24 from https://nodejs.org or your package manager`]);
    }
    expect(run({ node: 'echo v22.19.0' }).code).toBe(0);
    expect(run({ node: 'exit 127' }).lines[0]).toMatch(/^make test: Node\.js 22\.19 or later is needed \(found: none\)/);
  });
});
