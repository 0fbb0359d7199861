// The watcher across a pod replacement as deploy/kubernetes makes one (a
// switch is `kubectl rollout restart statefulset/nginx`): the same
// CONTROL_DIR (the pod's claimed volume), a new access log (an emptyDir),
// Nginx's active-pool file written only once the watcher has started (the
// sidecar starts first), the same `instance` (the StatefulSet pod's name),
// and incidents to Alertmanager only (no SLACK_WEBHOOK_URL). The real daemon
// (dist/) against a stand-in Alertmanager (the harness's receiver): what a
// pod replacement does to what Alertmanager hears. No cluster, no pod.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { ctl, getJson, h, lines, quietPeriod, startDaemon, waitForLog, type Daemon } from '../watcher/integration/harness.js';

interface Posted {
  alertname: string;
  pool: string | undefined;
  instance: string;
  firing: boolean;
  startsAt: number;
  summary: string;
}

/** Every alert posted to the stand-in Alertmanager, in order. */
const posted = (): Posted[] =>
  h.receiver.requests
    .filter((r) => r.path.endsWith('/api/v2/alerts'))
    .flatMap((r) =>
      (JSON.parse(r.body) as { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[]).map((a) => ({
        alertname: a.labels.alertname!,
        pool: a.labels.pool,
        instance: a.labels.instance!,
        // Firing: it ends after it was received (the watcher sets endsAt ahead while open).
        firing: Date.parse(a.endsAt) > r.at,
        startsAt: Date.parse(a.startsAt),
        summary: a.annotations.summary ?? '',
      })),
    );

/** A request blue failed and Nginx retried on green: the client got a 200 from the backup. */
const failedOver = (n: number) =>
  Array.from(
    { length: n },
    () =>
      `time=${new Date().toISOString()} rid=r${Math.random()} method=GET path="/version" status=200 pool="green" release="green-v1" ` +
      `upstream_status="500, 200" upstream_addr="172.18.0.3:3000, 172.18.0.4:3000" request_time=0.004 upstream_response_time="0.001, 0.002" bytes=98\n`,
  ).join('');

// What the manifests give every watcher, with the receiver for Alertmanager.
const podEnv = () => ({
  SLACK_WEBHOOK_URL: '',
  ALERTMANAGER_URL: h.receiver.url('/alertmanager'),
  ALERTMANAGER_INSTANCE: 'nginx-0',
  ALERTMANAGER_RESEND_SEC: '1',
});

let generation = 0;

/** One pod of the StatefulSet: a new log directory (its emptyDir), the shared CONTROL_DIR; Nginx publishes its pool after the watcher starts. */
async function startPod(pool: 'blue' | 'green', { publish = true } = {}): Promise<{ d: Daemon; log: (text: string) => void }> {
  const dir = join(h.dir, `pod-${++generation}`);
  mkdirSync(dir);
  const logPath = join(dir, 'access.log');
  const d = await startDaemon({ ...podEnv(), LOG_PATH: logPath, ACTIVE_POOL_FILE: join(dir, 'active-pool'), ACTIVE_POOL: pool });
  if (publish) writeFileSync(join(dir, 'active-pool'), `${pool}\n`);
  writeFileSync(logPath, '');
  return { d, log: (text) => appendFileSync(logPath, text) };
}

/** The pod's end: SIGTERM, as the kubelet sends the sidecar once Nginx has exited. */
async function stopPod(d: Daemon): Promise<void> {
  d.process.kill('SIGTERM');
  expect(await d.exit).toBe(0);
}

/** Writes `text` every 100 ms for `ms`: traffic, while the watcher's holds and resends run. */
async function traffic(log: (text: string) => void, text: () => string, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    log(text());
    await sleep(100);
  }
}

/** A pod serving blue whose watcher has seen blue fail over to green: failover:blue open, and posted firing. */
async function podWithOpenFailover(): Promise<Daemon> {
  const pod = await startPod('blue');
  pod.log(lines('blue', 3));
  await quietPeriod();
  pod.log(failedOver(2) + lines('green', 2));
  await vi.waitFor(() => expect(posted().some((a) => a.alertname === 'BlueGreenFailover' && a.firing)).toBe(true), { timeout: 5_000 });
  return pod.d;
}

/** The switch procedure of docs/kubernetes.md, in one pod: announce it, then the restart. */
const announceSwitch = (to: 'blue' | 'green') => ctl('planned-switch', to, '--from', to === 'green' ? 'blue' : 'green', '--ttl-sec', '600');

describe('a Kubernetes pod replacement, as the watcher lives it (real daemon, stand-in Alertmanager)', () => {
  it('a switch with nothing open, announced first: Alertmanager hears nothing, the watcher logs a planned switch', async () => {
    const before = await startPod('blue');
    before.log(lines('blue', 5));
    await vi.waitFor(async () => expect((await getJson(before.d, '/stats')).body.lines.read).toBe(5));
    await announceSwitch('green');
    await stopPod(before.d);

    const after = await startPod('green');
    await traffic(after.log, () => lines('green', 2), 2_500);
    await waitForLog(after.d, (l) => l.msg.startsWith('dry-run') && JSON.stringify(l).includes('Planned switch: pool changed blue → green'));
    expect(posted()).toEqual([]);
    expect((await getJson(after.d, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  }, 30_000);

  it('a switch while a failover is open closes it: the restored alert is resolved, nothing told after the fact', async () => {
    const before = await podWithOpenFailover();
    const opened = posted().find((a) => a.alertname === 'BlueGreenFailover' && a.firing)!;
    await announceSwitch('green');
    await stopPod(before);

    const after = await startPod('green');
    await traffic(after.log, () => lines('green', 2), 3_000);
    const failover = posted().filter((a) => a.alertname === 'BlueGreenFailover' && a.pool === 'blue');
    // The same alert, carried on by the next pod: its instance and (to the second) its start.
    expect(failover.every((a) => a.instance === opened.instance)).toBe(true);
    expect(Math.abs(failover.at(-1)!.startsAt - opened.startsAt)).toBeLessThan(1_000);
    // Its last word is the all-clear, for the reason it closed.
    expect(failover.at(-1)).toMatchObject({ firing: false, summary: expect.stringContaining('no longer the primary') });
    expect(posted().filter((a) => a.alertname === 'BlueGreenPastIncident')).toEqual([]);
    expect((await getJson(after.d, '/stats')).body).toMatchObject({ primaryPool: 'green', incidents: [] });
  }, 30_000);

  it('a switch nobody announced (the ConfigMap edited, the pods restarted): the open failover closes as moot, nothing told after the fact', async () => {
    const before = await podWithOpenFailover();
    await stopPod(before);

    // Nginx's published pool not there yet (or late): the pod's ACTIVE_POOL says which pool is primary.
    const after = await startPod('green', { publish: false });
    await traffic(after.log, () => lines('green', 2), 3_000);
    const failover = posted().filter((a) => a.alertname === 'BlueGreenFailover' && a.pool === 'blue');
    expect(failover.at(-1)).toMatchObject({ firing: false, summary: expect.stringContaining('no longer the primary') });
    expect(posted().filter((a) => a.alertname === 'BlueGreenPastIncident')).toEqual([]);
    expect((await getJson(after.d, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  }, 30_000);

  it('a restart with no switch keeps an open failover while the new log shows it, and resolves it once the log shows the pool back', async () => {
    const before = await podWithOpenFailover();
    await stopPod(before);
    const firstPosts = posted().length;

    const after = await startPod('blue');
    await traffic(after.log, () => failedOver(1) + lines('green', 1), 2_000);
    expect((await getJson(after.d, '/stats')).body.incidents).toEqual([expect.objectContaining({ key: 'failover:blue' })]);
    // Re-posted firing: still open, never resolved meanwhile.
    const resumed = posted().slice(firstPosts).filter((a) => a.alertname === 'BlueGreenFailover');
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((a) => a.firing)).toBe(true);

    // Blue is back: resolved after RECOVERY_HOLD_SEC (1 s) of steady service in the new log.
    await traffic(after.log, () => lines('blue', 2), 3_000);
    expect(posted().filter((a) => a.alertname === 'BlueGreenFailover').at(-1)).toMatchObject({ pool: 'blue', firing: false });
    expect(posted().filter((a) => a.alertname === 'BlueGreenPastIncident')).toEqual([]);
  }, 30_000);
});
