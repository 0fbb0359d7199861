// The runbook is read at 3 a.m. on a stack whose ports are settings and
// whose pools may run replicas on port ranges: none of its commands may name
// a port. What it runs goes through make targets that read the configured
// ports (make version, make ready, make metrics, make status).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const RUNBOOK = readFileSync(path.resolve(import.meta.dirname, '../../docs/runbook.md'), 'utf8');

describe('docs/runbook.md', () => {
  it('names no port: every address comes from the settings', () => {
    const found = RUNBOOK.split('\n').flatMap((line, i) =>
      [...line.matchAll(/(?:localhost|127\.0\.0\.1|0\.0\.0\.0):\d+|(?<![\w.])(?:8080|8081|8082|8083|9100|9101|9090|9093)(?![\w.])/g)].map((m) => `${i + 1}: ${m[0]}`),
    );
    expect(found).toEqual([]);
  });
});
