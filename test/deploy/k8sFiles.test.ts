// deploy/kubernetes/files/ holds copies of Compose's own files (kustomize
// reads nothing outside the kustomization): scripts/k8s-files.sh --check
// fails, naming the copy, while one differs from its original, and
// `make kubernetes-files` mends it.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './kubernetes.js';

const SCRIPT = 'scripts/k8s-files.sh';

describe('deploy/kubernetes/files: the copies of Compose files', () => {
  it('every copy is its original, byte for byte', () => {
    const check = spawnSync('bash', [SCRIPT, '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('a drifted copy fails the check with its name and the fix, and the copy mends it', () => {
    // On a copy of the three directories involved, so the tree under test is never touched.
    const root = mkdtempSync(path.join(tmpdir(), 'bg-k8s-files-'));
    for (const dir of ['scripts', 'nginx/templates', 'monitoring', 'deploy/kubernetes/files']) cpSync(path.join(ROOT, dir), path.join(root, dir), { recursive: true });
    const copy = path.join(root, 'deploy/kubernetes/files/alertmanager.yml');
    writeFileSync(copy, `${readFileSync(copy, 'utf8')}# drift\n`);
    const check = spawnSync('bash', [SCRIPT, '--check'], { cwd: root, encoding: 'utf8' });
    expect(check.status).toBe(1);
    expect(check.stderr.trim()).toBe('k8s-files: deploy/kubernetes/files/alertmanager.yml differs from monitoring/alertmanager.yml: run make kubernetes-files');
    execFileSync('bash', [SCRIPT], { cwd: root });
    expect(spawnSync('bash', [SCRIPT, '--check'], { cwd: root }).status).toBe(0);
  });
});
