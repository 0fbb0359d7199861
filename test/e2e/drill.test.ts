// `make drill` as an operator runs it, with short phases, against the real
// Compose stack (its webhook receiver stands in for Slack). The drill's
// timing bars (first answer within 1 s and so on) are benchmark figures and
// are not asserted here; what must hold is that it runs every phase, sees no
// failed request, fails over and back, promotes a good release and rolls a
// bad one back, gets its alerts delivered, leaves no chaos and the original
// pools and releases behind, and that its exit status agrees with the
// figures it writes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDockerOrSkip } from './support/docker.js';
import { PORTS, RELEASES, ROOT, envFileValue, getVersion, receivedAlerts, startStack, type Stack } from './support/stack.js';

const execFileAsync = promisify(execFile);
const enabled = requireDockerOrSkip('e2e drill');

interface DrillVerdict {
  metric: string;
  value: unknown;
  met: boolean;
}
interface DrillResults {
  passed: boolean;
  phases: { name: string; requests: number; non200: number; alert?: { decision: string; outcome?: string } }[];
  verdicts: DrillVerdict[];
}

// Bars that do not depend on how fast a busy CI machine is.
const FUNCTIONAL = [
  /non-200$/,
  /served by/,
  /alert$/,
  /alerts$/,
  /failover messages/,
  /failover reopened$/,
  /there and back$/,
  /serving at the end$/,
  /serves again$/,
  /outcome$/,
  /flip back$/,
  /restored$/,
  /^drill completed$/,
];

describe.skipIf(!enabled)('make drill on the Compose stack', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Short release analyses: the gates' logic is the release suite's business.
    stack = await startStack('drill', { ANALYSIS_SEC: '3' });
  });

  afterAll(async () => {
    await stack?.down();
  });

  it('runs every phase with no failed request, restores the stack and writes figures that match its exit status', { timeout: 420_000 }, async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'bg-drill-')), 'drill.json');
    const since = Date.now();
    let code = 0;
    let output = '';
    try {
      const run = await execFileAsync('make', ['-s', 'drill', `ENV_FILE=${stack.envFile}`, `ARGS=--seconds 2 --out ${out}`], {
        cwd: ROOT,
        env: { ...process.env, COMPOSE_PROJECT_NAME: stack.projectName },
        timeout: 360_000,
      });
      output = run.stdout;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      code = typeof e.code === 'number' ? e.code : -1;
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    console.log(`[e2e] drill output:\n${output}`);

    const results = JSON.parse(readFileSync(out, 'utf8')) as DrillResults;
    // make turns any failing recipe into exit 2.
    expect(code).toBe(results.passed ? 0 : 2);
    expect(results.phases.map((p) => p.name)).toEqual([
      'baseline',
      'error',
      'error stop',
      'timeout',
      'timeout stop',
      'switch',
      'release',
      'bad release',
      'rollback',
    ]);
    for (const phase of results.phases) {
      expect(phase.requests, phase.name).toBeGreaterThanOrEqual(30);
      expect(phase.non200, phase.name).toBe(0);
    }
    const missed = results.verdicts.filter((v) => !v.met && FUNCTIONAL.some((re) => re.test(v.metric)));
    expect(missed).toEqual([]);
    // The stack's cooldown is 0, so every failover and recovery went out, and the receiver got them.
    for (const name of ['error', 'error stop', 'timeout', 'timeout stop']) {
      expect(results.phases.find((p) => p.name === name)?.alert, name).toMatchObject({ decision: 'send', outcome: 'delivered' });
    }
    const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    // Error chaos, timeout chaos, and the bad release failing once promoted (a real failover, then rolled back).
    expect(texts.filter((t) => t.includes('Failover detected'))).toHaveLength(3);
    expect(texts.filter((t) => t.includes('Recovered'))).toHaveLength(2);

    expect(texts.filter((t) => /^Release drill-\d+-ok promoted/.test(t))).toHaveLength(1);
    expect(texts.filter((t) => /^Release drill-\d+-bad rolled back/.test(t))).toHaveLength(1);

    // Left as found: blue serving its release, green its own, no chaos, ACTIVE_POOL unchanged.
    expect(envFileValue(stack.envFile, 'ACTIVE_POOL')).toBe('blue');
    expect(envFileValue(stack.envFile, 'RELEASE_ID_BLUE')).toBe(RELEASES.blue);
    expect(envFileValue(stack.envFile, 'RELEASE_ID_GREEN')).toBe(RELEASES.green);
    expect((await getVersion()).release).toBe(RELEASES.blue);
    expect((await getVersion()).pool).toBe('blue');
    for (const port of [PORTS.blue, PORTS.green]) {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status, `readyz on ${port}`).toBe(200);
    }
  });
});
