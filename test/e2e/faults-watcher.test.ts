// The watcher under faults on the real Compose stack: Nginx's log rotated
// under 1,000 requests/s (rename + `nginx -s reopen`, and copy-truncate), the
// watcher container killed with SIGKILL mid-stream, and a soak at full speed
// with small log limits. Nothing read twice, nothing lost that the log still
// holds, no alert repeated, none missed, no log past its bound.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedLoop, openLoop, throughput } from '../../ops/stack/index.js';
import { requireDockerOrSkip } from './support/docker.js';
import { settled, settleUnderTraffic, waitForStats, watcherStats } from './support/incidents.js';
import {
  PORTS,
  chaos,
  docker,
  getVersion,
  pollUntil,
  receivedAlerts,
  sleep,
  startStack,
  waitForAlert,
  waitForServing,
  type Sample,
  type Stack,
} from './support/stack.js';

const enabled = requireDockerOrSkip('e2e watcher faults');
const LOG = '/var/log/bluegreen/access.log';
const RATE = 1_000;
// Small limits, so the soak rotates every log many times. The access log stays
// under 3 MB until the soak: the rotation counts the first cases check are theirs.
const LIMITS = { ACCESS_LOG_MAX_MB: 3, ACCESS_LOG_KEEP: 1, CONTAINER_LOG_MAX_MB: 1, CONTAINER_LOG_MAX_FILE: 2 };
// 20 s in `make test` (its time budget; about 6 rotations at full speed, 3 needed); SOAK_SEC=300 for a longer soak.
const SOAK_MS = Number(process.env.SOAK_SEC ?? 20) * 1000;
if (!Number.isInteger(SOAK_MS) || SOAK_MS <= 0) throw new Error(`SOAK_SEC: expected whole seconds above 0, got "${process.env.SOAK_SEC}"`);
const MB = 1024 * 1024;
// The rotation looks once a second: the log may pass its limit by that much
// traffic (a /version line is under 512 bytes), rounded up for a late wake-up.
const ROTATION_SLACK_SEC = 2;
const LINE_BYTES_MAX = 512;
// startStack's RECOVERY_HOLD_SEC.
const HOLD_SEC = 3;

/** `RATE` requests a second for `ms` through Nginx (open loop), running `during` at `atMs`; resolves with the statuses. */
async function loadWith(ms: number, atMs: number, during: () => Promise<unknown>): Promise<number[]> {
  const load = openLoop({ origin: `http://127.0.0.1:${PORTS.nginx}`, path: '/version', rate: RATE, durationMs: ms });
  await sleep(atMs);
  await during();
  return (await load).map((sample) => sample.status);
}

/** Lines the watcher read since `base`, once it has read `expected` or stopped reading for a second. */
async function waitForLinesRead(base: number, expected: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let read = -1;
  let unchangedPolls = 0;
  while (Date.now() < deadline && unchangedPolls < 4) {
    const now = (await watcherStats()).lines.read - base;
    if (now >= expected) break;
    unchangedPolls = now === read ? unchangedPolls + 1 : 0;
    read = now;
    await sleep(250);
  }
  // A moment more, so a line read twice would show.
  await sleep(1_000);
  return (await watcherStats()).lines.read - base;
}

describe.skipIf(!enabled)('the watcher under faults on the Compose stack', () => {
  let stack: Stack;
  const inNginx = (script: string) => stack.compose('exec', '-T', 'nginx', 'sh', '-c', script);

  beforeAll(async () => {
    // The pools' per-request log line through Docker is the stack's largest
    // cost per request (docs/performance.md); this suite is about the watcher,
    // so the pools log warnings only and the 2 cores keep headroom for 1,000
    // requests/s with the load generator on the same machine.
    stack = await startStack('watcher-faults', {
      LOG_LEVEL: 'warn',
      ACCESS_LOG_MAX_MB: String(LIMITS.ACCESS_LOG_MAX_MB),
      ACCESS_LOG_KEEP: String(LIMITS.ACCESS_LOG_KEEP),
      CONTAINER_LOG_MAX_SIZE: `${LIMITS.CONTAINER_LOG_MAX_MB}m`,
      CONTAINER_LOG_MAX_FILE: String(LIMITS.CONTAINER_LOG_MAX_FILE),
    });
  });

  afterAll(async () => {
    await stack?.down();
  });

  it('reads every line exactly once across a rename + nginx -s reopen under 1,000 requests/s', async () => {
    const before = await watcherStats();
    const statuses = await loadWith(5_000, 2_000, () => inNginx(`mv ${LOG} ${LOG}.1 && nginx -s reopen`));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const read = await waitForLinesRead(before.lines.read, statuses.length);
    console.log(`[e2e] rename rotation: ${statuses.length} requests, ${read} lines read`);
    expect(read).toBe(statuses.length);
    expect((await watcherStats()).source.rotations).toBe(before.source.rotations + 1);
  });

  it('reads every line after a copy-truncate once, and none twice, under 1,000 requests/s', async () => {
    const before = await watcherStats();
    // As the nginx user, who owns the log: root in that container has no CAP_DAC_OVERRIDE.
    const copyTruncate = `cp ${LOG} /tmp/access.log.2 && truncate -s 0 ${LOG}`;
    const statuses = await loadWith(5_000, 2_000, () => stack.compose('exec', '-T', '-u', 'nginx', 'nginx', 'sh', '-c', copyTruncate));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const read = await waitForLinesRead(before.lines.read, statuses.length);
    const lost = statuses.length - read;
    // Copy-truncate can only lose what was written between the watcher's last
    // read and the truncate: those lines are in the copy alone.
    console.log(`[e2e] copy-truncate: ${statuses.length} requests, ${read} lines read, ${lost} only in the copy`);
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThanOrEqual(RATE / 4);
    expect((await watcherStats()).source.truncations).toBe(before.source.truncations + 1);
  });

  it('alerts on a flip written right after a rotation', async () => {
    // A failover still open (from a request that failed under the load above)
    // would make this one part of it, with no new message: start from none.
    await settleUnderTraffic(30_000);
    await inNginx(`mv ${LOG} ${LOG}.3 && nginx -s reopen`);
    const since = Date.now();
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    await waitForServing('green', 5_000);
    await waitForAlert('pool changed blue → green', since, 5_000);
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitForServing('blue', 15_000);
    await waitForAlert('pool changed green → blue', since, 10_000);
  });

  it('after SIGKILL and a restart, reports the flip that happened while it was down, and repeats nothing', async () => {
    await settleUnderTraffic(30_000);
    const since = Date.now();
    await stack.compose('kill', '-s', 'SIGKILL', 'alert_watcher');
    // Blue fails while nobody watches: Nginx logs the failover all the same.
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    await waitForServing('green', 5_000);
    await sleep(1_000);
    expect(await receivedAlerts().then((all) => all.filter((m) => m.receivedAt >= since))).toEqual([]);

    await stack.compose('start', 'alert_watcher');
    const alert = await waitForAlert('pool changed blue → green', since, 20_000);
    console.log(`[e2e] flip while down: alerted ${alert.receivedAt - since} ms after the kill`);
    expect((await chaos('blue', 'stop')).status).toBe(200);
    await waitForServing('blue', 15_000);
    await waitForAlert('pool changed green → blue', since, 10_000);
    await sleep(2_000);
    // The restart first, then exactly the two new alerts: nothing from before the kill was sent again.
    const after = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    expect(after).toEqual([
      expect.stringMatching(/^Watcher restarted after an unclean stop: down \d+ s, from /),
      expect.stringMatching(/^Failover detected: pool changed blue → green/),
      expect.stringMatching(/^Recovered: pool changed green → blue/),
    ]);
  });

  it('the watcher stopped while blue fails over and heals and the access log rotates: after its restart it has read every line written while it was down, and Slack hears of the failover it missed', async () => {
    const t0 = Date.now();
    await settleUnderTraffic(30_000);
    // The settling traffic read to its last line before the stop: the restarted watcher's count is then the downtime's alone.
    await waitForLinesRead((await watcherStats()).lines.read, Number.POSITIVE_INFINITY);
    const since = Date.now();
    await stack.compose('stop', 'alert_watcher');

    // One client at about 10 requests/s, every request counted: each is one line the watcher must read.
    const samples: Sample[] = [];
    const send = async () => {
      const sample = await getVersion();
      samples.push(sample);
      await sleep(100);
      return sample;
    };
    const sendUntil = async (pool: string, max: number) => {
      for (let i = 0; i < max; i++) if ((await send()).pool === pool) return Date.now();
      throw new Error(`${pool} not serving after ${max} requests`);
    };
    expect((await chaos('blue', 'start?mode=error')).status).toBe(200);
    const greenAt = await sendUntil('green', 50);
    for (let i = 0; i < 10; i++) await send();
    const failing = samples.length;
    // Mid-incident, the way the stack rotates (nginx/docker-entrypoint.d/50-rotate-access-log.sh): the
    // saved position is now in access.log.1, which the resume finishes before the new access.log.
    await inNginx(`mv ${LOG} ${LOG}.1 && nginx -s reopen`);
    expect((await chaos('blue', 'stop')).status).toBe(200);
    const blueAt = await sendUntil('blue', 150);
    // Blue steady for longer than the hold, in the log: the incident is over before the watcher reads it.
    while (Date.now() < blueAt + (HOLD_SEC + 2) * 1000) await send();
    const healing = samples.length - failing;
    for (let i = 0; i < 20; i++) await send();
    const startedAt = Date.now();
    await stack.compose('start', 'alert_watcher');

    await pollUntil(() => watcherStats().then(() => true), 30_000, 250, () => 'watcher not answering /stats after its start');
    const read = await waitForLinesRead(0, samples.length);
    const afterTheFact = await waitForAlert('After the fact: Failover of blue', since, 15_000).catch(() => undefined);
    await waitForStats(settled, 15_000, 'nothing open or queued after the restart');
    const texts = (await receivedAlerts()).filter((m) => m.receivedAt >= since).map((m) => m.body.text);
    console.log(
      `[e2e] watcher stopped: ${samples.length} requests while down (${failing} while blue failed, rotation, ${healing} healing and steady for ${HOLD_SEC + 2} s, 20 after), ` +
        `down ${((startedAt - since) / 1000).toFixed(1)} s; ${read} lines read after the restart; Slack since the stop: ${JSON.stringify(texts)}; case ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    expect(samples.filter((x) => x.status !== 200)).toEqual([]);
    expect(read).toBe(samples.length);
    // A clean stop: no restart notice. The incident had ended: never paged as live, nor resolved as one.
    expect(texts.filter((t) => /^Watcher restarted/.test(t))).toEqual([]);
    expect(texts.filter((t) => /^Failover detected/.test(t))).toEqual([]);
    expect(texts.filter((t) => /^Recovered/.test(t))).toEqual([]);
    expect(afterTheFact?.body.text, `an after-the-fact message among ${JSON.stringify(texts)}`).toMatch(
      /^After the fact: Failover of blue from \d\d:\d\d:\d\d to \d\d:\d\d:\d\d UTC, while the watcher was down; over since then$/,
    );
    expect(texts.filter((t) => t.startsWith('After the fact: Failover of blue'))).toHaveLength(1);
    // Its times are the log's: opened when green took over, over after blue's hold, both before the restart.
    const [from, to] = [...afterTheFact!.body.text.matchAll(/(\d\d):(\d\d):(\d\d)/g)].map((m) => utcToday(m, since));
    expect(Math.abs(from! - greenAt)).toBeLessThanOrEqual(3_000);
    expect(to!).toBeGreaterThanOrEqual(blueAt - 1_000);
    expect(to!).toBeLessThanOrEqual(startedAt);
  });

  it(`soak: ${SOAK_MS / 1000} s at full speed, every log within its bound at every sample, every line read once`, { timeout: SOAK_MS + 90_000 }, async () => {
    // The stack's own services (not the test's webhook receiver).
    const services = (await stack.compose('ps', '-q', 'app_blue', 'app_green', 'nginx', 'alert_watcher')).trim().split('\n');
    expect(services).toHaveLength(4);
    const logPaths = await Promise.all(services.map(async (id) => (await docker('inspect', '-f', '{{.LogPath}}', id)).trim()));
    const volume = (await docker('volume', 'inspect', '-f', '{{.Mountpoint}}', `${stack.projectName}_nginx_logs`)).trim();
    // What earlier cases left beside the managed files is not the rotation's to bound.
    await inNginx(`rm -f ${LOG}.2 ${LOG}.3`);
    const bytes = () => ({
      containers: logPaths.reduce((sum, file) => sum + filesSize(path.dirname(file), path.basename(file)), 0),
      accessLog: filesSize(volume, 'access.log'),
    });
    const before = await watcherStats();
    const memoryBefore = await memory(services);
    const samples: { containers: number; accessLog: number }[] = [];
    const load = closedLoop({ origin: `http://127.0.0.1:${PORTS.nginx}`, path: '/version', connections: 16, durationMs: SOAK_MS });
    let done = false;
    void load.finally(() => (done = true));
    while (!done) {
      samples.push(bytes());
      await sleep(1_000);
    }
    const run = await load;
    const memoryAfter = await memory(services);
    const t = throughput([run]);
    const read = await waitForLinesRead(before.lines.read, t.requests, 30_000);
    const after = await watcherStats();

    const containerBound = services.length * LIMITS.CONTAINER_LOG_MAX_MB * LIMITS.CONTAINER_LOG_MAX_FILE * MB;
    const accessBound = (LIMITS.ACCESS_LOG_KEEP + 1) * LIMITS.ACCESS_LOG_MAX_MB * MB + t.rps * ROTATION_SLACK_SEC * LINE_BYTES_MAX;
    const peak = (k: 'containers' | 'accessLog') => Math.max(...samples.map((x) => x[k]));
    const mb = (n: number) => (n / MB).toFixed(1);
    console.log(
      `[e2e] soak: ${t.requests} requests in ${t.seconds.toFixed(0)} s (${Math.round(t.rps)}/s, ${t.failed} failed), ${read} lines read, ` +
        `${after.source.rotations - before.source.rotations} rotations; peak container logs ${mb(peak('containers'))} MB (bound ${mb(containerBound)}), ` +
        `peak access log ${mb(peak('accessLog'))} MB (bound ${mb(accessBound)}), ${samples.length} samples; ` +
        `memory MiB before → after: ${Object.entries(memoryBefore).map(([name, mib]) => `${name} ${mib} → ${memoryAfter[name]}`).join(', ')}`,
    );
    expect(t.failed).toBe(0);
    expect(read).toBe(t.requests);
    // Full speed must have rotated the access log several times, or the bound proved nothing.
    expect(after.source.rotations - before.source.rotations).toBeGreaterThanOrEqual(3);
    expect(samples.length).toBeGreaterThanOrEqual(Math.floor(SOAK_MS / 2_000));
    for (const sample of samples) {
      expect(sample.containers).toBeLessThanOrEqual(containerBound);
      expect(sample.accessLog).toBeLessThanOrEqual(accessBound);
    }
  });

  it('Nginx starts again after its log was rotated (the reopened log belongs to its workers)', async () => {
    expect((await watcherStats()).source.rotations).toBeGreaterThan(0);
    await stack.compose('restart', 'nginx');
    await stack.compose('up', '-d', '--wait', '--no-deps', 'nginx');
    const before = await watcherStats();
    const statuses = await loadWith(1_000, 0, async () => undefined);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await waitForLinesRead(before.lines.read, statuses.length)).toBe(statuses.length);
  });
});

/** An HH:MM:SS (UTC) match as epoch ms on the day of `near`, whichever of it and the day around it is closest. */
function utcToday(m: RegExpMatchArray, near: number): number {
  const day = 86_400_000;
  const at = Math.floor(near / day) * day + ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
  return [at - day, at, at + day].reduce((best, t) => (Math.abs(t - near) < Math.abs(best - near) ? t : best));
}

/** Total bytes of the files in `dir` whose names start with `prefix` (a log and its rotated copies). */
function filesSize(dir: string, prefix: string): number {
  return readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .reduce((sum, name) => sum + (statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);
}

/** Each container's memory as `docker stats` reports it (page cache excluded), in MiB, by service. */
async function memory(ids: string[]): Promise<Record<string, number>> {
  const out = await docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...ids);
  const entries = out
    .trim()
    .split('\n')
    .map((line) => {
      const [name = '', usage = ''] = line.split(' ');
      const value = Number.parseFloat(usage);
      const mib = usage.includes('GiB') ? value * 1024 : usage.includes('KiB') ? value / 1024 : value;
      return [name.replace(/^bg-e2e-watcher-faults-\d+-/, '').replace(/-\d+$/, ''), Math.round(mib)] as const;
    });
  return Object.fromEntries(entries);
}
