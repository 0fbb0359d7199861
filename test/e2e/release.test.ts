// Releases on the real Compose stack, under steady load through Nginx, with the
// local receiver standing in for Slack. One stack; the scenarios run in order
// and each starts from where the previous one left traffic:
//   good release → green (r2); blocked → blue restored; rolled back → back on
//   green; make rollback → blue; then bad input, which must change nothing.
// Each asserts what clients saw, what Slack got and what the history says.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPath } from '../../ops/release/lock.js';
import { now, openLoop, runMake, type Sample as LoadSample } from '../../ops/stack/index.js';
import { requireDockerOrSkip } from './support/docker.js';
import {
  PORTS,
  RELEASES,
  ROOT,
  chaos,
  failures,
  getVersion,
  receivedAlerts,
  startLoad,
  startStack,
  waitForServing,
  type Sample,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e releases');

const ANALYSIS_SEC = 4;
const LOAD_PER_SECOND = 25;
// The keep-alive clients' rate: enough that every connection is reused many
// times a second, little enough for the release's analysis to run beside it.
const KEEPALIVE_RATE = 300;
const RELEASE_TIMEOUT_MS = 240_000;
const TAG = process.env.E2E_IMAGE_TAG ?? 'local';
const IMAGE = `bluegreen-node:${TAG}`;
// make exits 2 whenever a recipe fails, whatever the tool's own code (1 or 2),
// and adds its own "make: *** [release] Error N" after the tool's line.
const FAILED = 2;
// ("make[1]: ***" when the tests themselves run under make).
const toolSaid = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !/^make(\[\d+\])?: \*\*\*/.test(l));

interface Run {
  code: number;
  output: string;
  samples: Sample[];
  /** Slack messages received during the run. */
  slack: string[];
}

describe.skipIf(!enabled)('releases (real stack, 25 requests/s through Nginx)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('release', {
      ANALYSIS_SEC: String(ANALYSIS_SEC),
      ANALYSIS_RPS: '20',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await stack?.down();
  });

  /**
   * Runs `make <args>` under load; when its output first contains `trigger`,
   * calls `onTrigger` (a fault injected at that step).
   */
  async function underLoad(args: string[], trigger?: { phrase: string; action: () => Promise<unknown> }): Promise<Run> {
    const since = Date.now();
    const load = startLoad(LOAD_PER_SECOND);
    let fired: Promise<unknown> | undefined;
    let seen = '';
    const run = await stack.makeWith(
      {
        timeoutMs: RELEASE_TIMEOUT_MS,
        onOutput: (chunk) => {
          seen += chunk;
          if (trigger && fired === undefined && seen.includes(trigger.phrase)) fired = trigger.action();
        },
      },
      ...args,
    );
    await fired;
    // A little traffic after the end, so a flip back would show.
    await new Promise((r) => setTimeout(r, 1500));
    const samples = await load.stop();
    const slack = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    console.log(`[release] make ${args.join(' ')} → exit ${run.code} in ${(run.ms / 1000).toFixed(1)} s\n${run.output}`);
    console.log(`[release] ${samples.length} requests, ${failures(samples).length} failed; Slack: ${JSON.stringify(slack)}`);
    return { code: run.code, output: run.output, samples, slack };
  }

  async function directRelease(pool: 'blue' | 'green'): Promise<string | null> {
    const res = await fetch(`http://127.0.0.1:${PORTS[pool]}/version`);
    await res.arrayBuffer();
    return res.headers.get('x-release-id');
  }

  async function history(): Promise<string> {
    const out = await stack.make('history');
    expect(out.code, out.output).toBe(0);
    return out.stdout;
  }

  /** Slack may hear a message a moment after make returns (the watcher's outbox is read each second). */
  async function slackWithin(since: number, phrase: RegExp, ms = 5000): Promise<string[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
      if (texts.some((t) => phrase.test(t)) || Date.now() > deadline) return texts;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('promotes a good release built from the working tree: 0 failed requests, the release id flips once, the old pool keeps the old release', async () => {
    const since = Date.now();
    const run = await underLoad(['release', 'RELEASE=r2']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PROMOTED: r2 serves on green/);
    expect(failures(run.samples), JSON.stringify(failures(run.samples).slice(0, 5))).toEqual([]);

    // Ordered by when each request was sent: blue's release, then r2, never back.
    const releases = run.samples.map((s) => s.release);
    const firstNew = releases.indexOf('r2');
    expect(firstNew).toBeGreaterThan(0);
    expect(releases.slice(0, firstNew).every((r) => r === RELEASES.blue)).toBe(true);
    expect(releases.slice(firstNew).filter((r) => r !== 'r2'), 'an answer from the old release after the switch').toEqual([]);
    expect(await directRelease('blue')).toBe(RELEASES.blue);
    expect(await directRelease('green')).toBe('r2');

    const slack = await slackWithin(since, /Release r2 promoted/);
    expect(slack.filter((t) => /^Release r2 started/.test(t))).toHaveLength(1);
    expect(slack.filter((t) => /^Release r2 promoted/.test(t))).toHaveLength(1);
    expect(slack.filter((t) => /Failover/.test(t)), 'a release is not a failover').toEqual([]);
    const log = await history();
    expect(log).toMatch(/release\s+started.*blue → green.*→ r2/);
    expect(log).toMatch(/switch\s+ok.*blue → green/);
    expect(log).toMatch(/release\s+promoted.*r2/);
  });

  it('blocks a release whose new pool fails its pre-promotion analysis: no client reaches it, the idle pool is restored', async () => {
    const since = Date.now();
    const run = await underLoad(['release', 'RELEASE=r3', `IMAGE=${IMAGE}`], {
      phrase: 'pre-promotion analysis:',
      action: () => chaos('blue', 'start?mode=error&rate=1'),
    });
    expect(run.code, run.output).toBe(FAILED);
    expect(run.output).toMatch(/BLOCKED: blue answered 500/);
    expect(failures(run.samples)).toEqual([]);
    expect(run.samples.filter((s) => s.release === 'r3'), 'a client reached the blocked release').toEqual([]);
    expect(run.samples.every((s) => s.pool === 'green')).toBe(true);
    // Restored (and so out of chaos): the backup is the build it ran before.
    expect(await directRelease('blue')).toBe(RELEASES.blue);

    const slack = await slackWithin(since, /Release r3 blocked/);
    expect(slack.filter((t) => /^Release r3 blocked/.test(t))).toHaveLength(1);
    expect(await history()).toMatch(/release\s+blocked.*r3.*pre-promotion analysis: blue answered 500/);
  });

  it('rolls back by itself a release that goes bad after promotion: 0 failed requests, traffic back on the old release within seconds', async () => {
    const since = Date.now();
    const run = await underLoad(['release', 'RELEASE=r4', `IMAGE=${IMAGE}`], {
      phrase: 'post-promotion analysis:',
      action: () => chaos('blue', 'start?mode=error&rate=1'),
    });
    expect(run.code, run.output).toBe(FAILED);
    expect(run.output).toMatch(/ROLLING BACK/);
    // Failover covered the gap until the switch back.
    expect(failures(run.samples), JSON.stringify(failures(run.samples).slice(0, 5))).toEqual([]);
    const timing = /traffic is back on green \(r2\) ([\d.]+) s after the first failure \(detected in ([\d.]+) s, switched in ([\d.]+) s\)/.exec(run.output);
    expect(timing, run.output).not.toBeNull();
    console.log(`[release] automatic rollback: ${timing?.[1]} s from the first failure to traffic back on r2 (detected ${timing?.[2]} s, switch ${timing?.[3]} s)`);
    // A functional deadline an on-call engineer relies on, generous for this VM.
    expect(Number(timing?.[1])).toBeLessThan(15);
    await waitForServing('green', 5000);
    expect(run.samples.at(-1)?.release).toBe('r2');
    expect(await directRelease('blue')).toBe(RELEASES.blue);

    const slack = await slackWithin(since, /Release r4 rolled back/);
    expect(slack.filter((t) => /^Release r4 rolled back/.test(t))).toHaveLength(1);
    expect(await history()).toMatch(/release\s+rolled_back.*r4/);
  });

  it('make rollback under load: one switch to the previous release, 0 failed requests', async () => {
    const since = Date.now();
    const run = await underLoad(['rollback', 'REASON=e2e drill']);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/rolled back in [\d.]+ s: blue serves blue-e2e-1/);
    expect(failures(run.samples)).toEqual([]);
    expect(run.samples.at(-1)).toMatchObject({ pool: 'blue', release: RELEASES.blue });
    const slack = await slackWithin(since, /^Rolled back/);
    expect(slack.filter((t) => /^Rolled back: traffic moved green → blue/.test(t))).toHaveLength(1);
    expect(await history()).toMatch(/rollback\s+ok.*green → blue.*e2e drill/);
  });

  it('make rollback refuses a previous pool that is not ready, and changes nothing', async () => {
    const envBefore = readFileSync(stack.envFile, 'utf8');
    // Chaos makes green's /readyz answer 503.
    expect((await chaos('green', 'start?mode=error&rate=1')).status).toBe(200);
    try {
      const run = await stack.make('rollback');
      expect(run.code, run.output).toBe(FAILED);
      expect(toolSaid(run.stderr)).toEqual([
        'rollback: green (r2) is not ready (its /readyz failed); refusing to roll back onto it. FORCE=1 overrides.',
      ]);
      expect(readFileSync(stack.envFile, 'utf8')).toBe(envBefore);
      expect((await getVersion()).pool).toBe('blue');
      expect(await history()).toMatch(/rollback\s+refused\s+blue → green.*green is not ready/);
    } finally {
      expect((await chaos('green', 'stop')).status).toBe(200);
    }
  });

  it('Ctrl-C during the post-promotion analysis leaves traffic on the pool that served before: 0 failed requests', async () => {
    const since = Date.now();
    const load = startLoad(LOAD_PER_SECOND);
    // As a terminal does: SIGINT to make and the tool together (their process group).
    const child = spawn('make', ['-s', 'release', 'RELEASE=r6', `IMAGE=${IMAGE}`, `ENV_FILE=${stack.envFile}`], {
      cwd: ROOT,
      env: { ...process.env, ...stack.composeEnv },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let sent = false;
    const interrupted = new Promise<void>((resolve) => {
      const watch = (chunk: Buffer) => {
        output += chunk.toString();
        // Once: a second Ctrl-C means "leave at once".
        if (!sent && output.includes('post-promotion analysis:') && child.pid !== undefined) {
          sent = true;
          process.kill(-child.pid, 'SIGINT');
          resolve();
        }
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await interrupted;
    const code = await exited;
    await new Promise((r) => setTimeout(r, 1500));
    const samples = await load.stop();
    console.log(`[release] Ctrl-C: exit ${code}\n${output}`);
    expect(code).not.toBe(0);
    expect(output).toMatch(/INTERRUPTED: interrupted; switching back to blue \(blue-e2e-1\)/);
    expect(failures(samples), JSON.stringify(failures(samples).slice(0, 5))).toEqual([]);
    expect(samples.at(-1)).toMatchObject({ pool: 'blue', release: RELEASES.blue });
    expect(await directRelease('green')).toBe('r2');
    const slack = await slackWithin(since, /Release r6 interrupted/);
    expect(slack.filter((t) => /^Release r6 interrupted/.test(t))).toHaveLength(1);
    expect(await history()).toMatch(/release\s+interrupted.*r6/);
  });

  it('records chaos and maintenance in the history with who ran them, and skips a torn last line with a warning', async () => {
    for (const target of [['chaos', 'POOL=green', 'MODE=error'], ['chaos-stop'], ['maintenance-on'], ['maintenance-off']]) {
      const out = await stack.make(...target);
      expect(out.code, out.output).toBe(0);
    }
    const log = await history();
    expect(log).toMatch(/chaos_start\s+ok\s+green\s.*@.*mode=error rate=1/);
    expect(log).toMatch(/chaos_stop\s+ok/);
    expect(log).toMatch(/maintenance_on\s+ok[\s\S]*maintenance_off\s+ok/);
    // A crash mid-write leaves half a line; the next entry still starts on its own.
    await stack.compose('exec', '-T', 'alert_watcher', 'sh', '-c', `printf '{"time":"2026-' >> /var/lib/watcher/history.jsonl`);
    const torn = await stack.make('history');
    expect(torn.code, torn.output).toBe(0);
    expect(torn.stderr).toMatch(/history: skipped line \d+/);
    expect(torn.stdout).toMatch(/maintenance_off/);
    expect((await stack.make('chaos-stop')).code).toBe(0);
    const after = await stack.make('history');
    expect(after.stdout.trim().split('\n').at(-1)).toMatch(/chaos_stop\s+ok/);
  });

  describe('bad input: one clear line, exit non-zero, nothing changed', () => {
    const cases: [string, string[], RegExp][] = [
      ['an empty release id', ['release', 'RELEASE='], /^release: RELEASE: expected 1 to 64 letters/],
      ['a malformed release id', ['release', 'RELEASE=bad id!'], /^release: RELEASE: expected 1 to 64 letters/],
      ['an unknown pool', ['release', 'RELEASE=r5', 'POOL=purple'], /^release: POOL: expected "blue" or "green" \(got "purple"\)/],
      ['the serving pool', ['release', 'RELEASE=r5', 'POOL=blue'], /^release: blue is the serving pool: a release goes to the idle pool, green/],
      ['an image that does not exist', ['release', 'RELEASE=r5', 'IMAGE=bluegreen-node:no-such-tag'], /^release: image bluegreen-node:no-such-tag does not exist here and could not be pulled/],
    ];
    it.each(cases)('%s', async (_name, args, line) => {
      const envBefore = readFileSync(stack.envFile, 'utf8');
      const historyBefore = await history();
      const run = await stack.makeWith({ timeoutMs: 60_000 }, ...args);
      expect(run.code, run.output).toBe(FAILED);
      const said = toolSaid(run.stderr);
      expect(said, run.output).toHaveLength(1);
      expect(said[0]).toMatch(line);
      expect(readFileSync(stack.envFile, 'utf8')).toBe(envBefore);
      expect(await history()).toBe(historyBefore);
      expect(await directRelease('green')).toBe('r2');
    });

    it('a release while another runs (the lock)', async () => {
      // Held by a live process: this test runner's own.
      writeFileSync(lockPath(stack.envFile), JSON.stringify({ pid: process.pid, host: hostname(), action: 'release', since: 'now' }));
      try {
        const run = await stack.make('release', 'RELEASE=r5');
        expect(run.code, run.output).toBe(FAILED);
        expect(toolSaid(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^release: a release is already running \\(pid ${process.pid} `))]);
        const back = await stack.make('rollback');
        expect(back.code, back.output).toBe(FAILED);
      } finally {
        unlinkSync(lockPath(stack.envFile));
      }
      expect(await directRelease('green')).toBe('r2');
    });

    it('a stack that is down', async () => {
      const down = `${stack.envFile}.down`;
      writeFileSync(down, readFileSync(stack.envFile, 'utf8').replace(/^NGINX_PORT=.*$/m, `NGINX_PORT=${PORTS.nginx + 90}`));
      const run = await runMake({ ENV_FILE: down }, ['release', 'RELEASE=r5'], { env: stack.composeEnv });
      expect(run.code, run.output).toBe(FAILED);
      expect(toolSaid(run.stderr)).toEqual([expect.stringMatching(/^release: the stack is not running .* start it with make up$/)]);
    });
  });
  // Keep-alive clients, as most HTTP client libraries and services are: 16
  // connections reused for every request, and no retry of a request whose
  // connection closed under it. A switch that reloaded Nginx closed the idle
  // ones at once (36 socket errors in 4 switches at 4,500 requests/s); one
  // that only changes what njs reads closes none.
  it('keep-alive clients through 10 switches, a release promotion and make rollback: no socket error, every answer 2xx, each switch seen', async () => {
    const samples: LoadSample[] = [];
    const stop = new AbortController();
    const load = openLoop({
      origin: `http://127.0.0.1:${PORTS.nginx}`,
      path: '/version',
      rate: KEEPALIVE_RATE,
      connections: 16,
      retryClosed: false,
      durationMs: 300_000,
      until: stop.signal,
      timeoutMs: 5_000,
    });
    // Each step: what serves once make returned; when it began and returned.
    const steps: { what: string; pool: 'blue' | 'green'; release?: string; startedAt: number; doneAt: number }[] = [];
    const step = async (what: string, pool: 'blue' | 'green', release: string | undefined, ...args: string[]) => {
      const startedAt = now();
      const out = await stack.makeWith({ timeoutMs: RELEASE_TIMEOUT_MS }, ...args);
      expect(out.code, `${what}: ${out.output}`).toBe(0);
      steps.push({ what, pool, ...(release === undefined ? {} : { release }), startedAt, doneAt: now() });
      await new Promise((r) => setTimeout(r, 500));
    };
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (let i = 1; i <= 10; i++) {
        const pool = i % 2 === 1 ? 'green' : 'blue';
        await step(`switch ${i} to ${pool}`, pool, undefined, 'switch', `POOL=${pool}`);
      }
      await step('release r7', 'green', 'r7', 'release', 'RELEASE=r7', `IMAGE=${IMAGE}`);
      // Back to blue and the release it ran before (earlier tests may have released to it).
      await step('make rollback', 'blue', undefined, 'rollback', 'REASON=keep-alive e2e');
    } finally {
      stop.abort();
      samples.push(...(await load));
    }
    const bad = samples.filter((s) => s.status < 200 || s.status > 299 || s.retried);
    console.log(`[release] keep-alive: ${samples.length} requests on 16 connections, ${bad.length} failed: ${JSON.stringify(bad.slice(0, 5))}`);
    expect(bad).toEqual([]);
    // Every request sent after a step returned, until the next one began, was
    // answered by that step's pool (and release).
    for (const [i, done] of steps.entries()) {
      const nextStart = steps[i + 1]?.startedAt ?? Number.POSITIVE_INFINITY;
      const window = samples.filter((s) => s.startedAt > done.doneAt && s.startedAt < nextStart);
      expect(window.length, done.what).toBeGreaterThan(0);
      expect(window.filter((s) => s.pool !== done.pool).map((s) => s.pool), done.what).toEqual([]);
      if (done.release) expect(window.filter((s) => s.release !== done.release).map((s) => s.release), done.what).toEqual([]);
    }
    const releasesIn = (what: string) => {
      const i = steps.findIndex((s) => s.what === what);
      return new Set(samples.filter((s) => s.startedAt > steps[i]!.doneAt && s.startedAt < (steps[i + 1]?.startedAt ?? Infinity)).map((s) => s.release));
    };
    expect(releasesIn('make rollback')).toEqual(releasesIn('switch 10 to blue'));
  });
});
