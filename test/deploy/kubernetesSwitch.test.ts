// The watcher of a deploy/kubernetes pod across a switch and across a pod
// replacement, the real daemon (dist/) against a stand-in Alertmanager (the
// harness's receiver). A switch restarts nothing: the ConfigMap `active-pool`
// is patched, the kubelet updates its volume in the running pod (the file
// /etc/bluegreen/serving-pool), Nginx's njs follows within 100 ms and
// publishes the pool it serves to the log volume (ACTIVE_POOL_FILE): the same
// watcher process, the same access log, a new pool in it. The pod's
// ACTIVE_POOL environment is what the ConfigMap held when the pod was created
// and is never updated: a watcher restarted after a switch must take its pool
// from Nginx's published file. A pod replacement (a drain, a template change)
// keeps the pod's CONTROL_DIR (its claimed volume) and `instance` (the
// StatefulSet pod's name) and starts a new log (an emptyDir), with Nginx's
// published pool written only once the watcher has started (the sidecar
// starts first). Incidents go to Alertmanager only (no SLACK_WEBHOOK_URL).
// What these do to what Alertmanager hears. No cluster, no pod.
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { ctl, getJson, h, lines, quietPeriod, startDaemon, waitForLog, type Daemon } from '../watcher/integration/harness.js';

type Pool = 'blue' | 'green';

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

/** One pod of the StatefulSet: its emptyDir (the access log, Nginx's published pool) and its watcher. */
interface Pod {
  d: Daemon;
  /** The pod's ACTIVE_POOL: the ConfigMap's value when the pod was created, never updated. */
  envPool: Pool;
  dir: string;
  log: (text: string) => void;
  /** What Nginx's njs does once the kubelet has updated /etc/bluegreen/serving-pool: publish the pool it now serves, by rename. */
  nginxServes: (pool: Pool) => void;
}

let generation = 0;

async function startWatcher(dir: string, envPool: Pool): Promise<Daemon> {
  return startDaemon({ ...podEnv(), LOG_PATH: join(dir, 'access.log'), ACTIVE_POOL_FILE: join(dir, 'active-pool'), ACTIVE_POOL: envPool });
}

/** A new pod, created while the ConfigMap says `pool`: a new log directory (its emptyDir), the shared CONTROL_DIR; Nginx publishes its pool after the watcher starts. */
async function createPod(pool: Pool, { publish = true } = {}): Promise<Pod> {
  const dir = join(h.dir, `pod-${++generation}`);
  mkdirSync(dir);
  const logPath = join(dir, 'access.log');
  const poolFile = join(dir, 'active-pool');
  const d = await startWatcher(dir, pool);
  const nginxServes = (served: Pool) => {
    writeFileSync(`${poolFile}.tmp`, `${served}\n`);
    renameSync(`${poolFile}.tmp`, poolFile);
  };
  if (publish) nginxServes(pool);
  writeFileSync(logPath, '');
  return { d, envPool: pool, dir, log: (text) => appendFileSync(logPath, text), nginxServes };
}

/** The pod's end, or its sidecar's alone: SIGTERM, as the kubelet sends the sidecar once Nginx has exited. */
async function stopWatcher(d: Daemon): Promise<void> {
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
async function podWithOpenFailover(): Promise<Pod> {
  const pod = await createPod('blue');
  pod.log(lines('blue', 3));
  await quietPeriod();
  pod.log(failedOver(2) + lines('green', 2));
  await vi.waitFor(() => expect(posted().some((a) => a.alertname === 'BlueGreenFailover' && a.firing)).toBe(true), { timeout: 5_000 });
  return pod;
}

/** The switch procedure of docs/kubernetes.md, in one pod: the announcement, before the ConfigMap is patched. */
const announceSwitch = (to: Pool) => ctl('planned-switch', to, '--from', to === 'green' ? 'blue' : 'green', '--ttl-sec', '600');

/**
 * The rest of it, in the same pod: the ConfigMap patched, and, some time
 * later (the kubelet's sync, up to a minute or two; shortened here), Nginx
 * serving and publishing `to`. Blue keeps serving meanwhile.
 */
async function configMapReaches(pod: Pod, to: Pool, from: Pool): Promise<void> {
  await traffic(pod.log, () => lines(from, 2), 1_000);
  pod.nginxServes(to);
}

describe('a Kubernetes switch in place, and a pod replacement, as the watcher lives them (real daemon, stand-in Alertmanager)', () => {
  it('an announced switch with nothing open: the same watcher logs a planned switch once Nginx serves green, Alertmanager hears nothing', async () => {
    const pod = await createPod('blue');
    pod.log(lines('blue', 5));
    await vi.waitFor(async () => expect((await getJson(pod.d, '/stats')).body.lines.read).toBe(5));
    await announceSwitch('green');
    await configMapReaches(pod, 'green', 'blue');
    // Still blue until the kubelet's update lands: the announcement alone switches nothing.
    expect((await getJson(pod.d, '/stats')).body).toMatchObject({ primaryPool: 'blue', servingPool: 'blue' });
    await traffic(pod.log, () => lines('green', 2), 2_500);
    await waitForLog(pod.d, (l) => l.msg.startsWith('dry-run') && JSON.stringify(l).includes('Planned switch: pool changed blue → green'));
    expect(posted()).toEqual([]);
    expect((await getJson(pod.d, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
    // One watcher throughout: the switch restarted nothing.
    expect(pod.d.process.exitCode).toBeNull();
  }, 30_000);

  it('an announced switch while a failover is open closes it in place: the alert is resolved, nothing told after the fact', async () => {
    const pod = await podWithOpenFailover();
    const opened = posted().find((a) => a.alertname === 'BlueGreenFailover' && a.firing)!;
    await announceSwitch('green');
    await configMapReaches(pod, 'green', 'blue');
    await traffic(pod.log, () => lines('green', 2), 3_000);
    const failover = posted().filter((a) => a.alertname === 'BlueGreenFailover' && a.pool === 'blue');
    expect(failover.every((a) => a.instance === opened.instance)).toBe(true);
    expect(Math.abs(failover.at(-1)!.startsAt - opened.startsAt)).toBeLessThan(1_000);
    // Its last word is the all-clear, for the reason it closed.
    expect(failover.at(-1)).toMatchObject({ firing: false, summary: expect.stringContaining('no longer the primary') });
    expect(posted().filter((a) => a.alertname === 'BlueGreenPastIncident')).toEqual([]);
    expect((await getJson(pod.d, '/stats')).body).toMatchObject({ primaryPool: 'green', incidents: [] });
  }, 30_000);

  it('a switch nobody announced (the ConfigMap patched alone): Nginx says it serves green, so no failover is paged', async () => {
    const pod = await createPod('blue');
    pod.log(lines('blue', 5));
    await vi.waitFor(async () => expect((await getJson(pod.d, '/stats')).body.lines.read).toBe(5));
    await configMapReaches(pod, 'green', 'blue');
    await traffic(pod.log, () => lines('green', 2), 2_500);
    await waitForLog(pod.d, (l) => l.msg.startsWith('dry-run') && JSON.stringify(l).includes('Planned switch: pool changed blue → green'));
    expect(posted()).toEqual([]);
    expect(pod.d.logs().some((l) => JSON.stringify(l).includes('Failover detected'))).toBe(false);
    expect((await getJson(pod.d, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  }, 30_000);

  it('a watcher restarted after a switch (its pod not replaced) takes the pool from Nginx\'s published file, not its stale ACTIVE_POOL', async () => {
    const pod = await createPod('blue');
    pod.log(lines('blue', 3));
    await announceSwitch('green');
    await configMapReaches(pod, 'green', 'blue');
    await traffic(pod.log, () => lines('green', 2), 1_500);
    await vi.waitFor(async () => expect((await getJson(pod.d, '/stats')).body.primaryPool).toBe('green'));
    await stopWatcher(pod.d);

    // The sidecar restarts in the same pod: the same log and published file, the pod's environment still blue.
    expect(pod.envPool).toBe('blue');
    const again = await startWatcher(pod.dir, pod.envPool);
    await waitForLog(again, (l) => l.msg.startsWith('watcher started') && l.servingPool === 'green');
    await traffic(pod.log, () => lines('green', 2), 2_500);
    expect(posted()).toEqual([]);
    expect((await getJson(again, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  }, 30_000);

  it('a pod re-created after the ConfigMap changed, before its Nginx had switched: the open failover closes as moot, nothing told after the fact', async () => {
    const before = await podWithOpenFailover();
    await stopWatcher(before.d);

    // The new pod's ACTIVE_POOL and file are the ConfigMap's green; its Nginx's published pool not there yet (or late).
    const after = await createPod('green', { publish: false });
    await traffic(after.log, () => lines('green', 2), 3_000);
    const failover = posted().filter((a) => a.alertname === 'BlueGreenFailover' && a.pool === 'blue');
    expect(failover.at(-1)).toMatchObject({ firing: false, summary: expect.stringContaining('no longer the primary') });
    expect(posted().filter((a) => a.alertname === 'BlueGreenPastIncident')).toEqual([]);
    expect((await getJson(after.d, '/stats')).body).toMatchObject({ primaryPool: 'green', servingPool: 'green', incidents: [] });
  }, 30_000);

  it('a pod replaced with no switch (a drain, a template change) keeps an open failover while the new log shows it, and resolves it once the log shows the pool back', async () => {
    const before = await podWithOpenFailover();
    await stopWatcher(before.d);
    const firstPosts = posted().length;

    const after = await createPod('blue');
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
