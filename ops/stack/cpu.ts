// CPU time a stack container has used, from its cgroup on this host: what the
// proxy benchmark divides by the requests it sent to get a cost per request.
// Read from the host, never with `docker exec`: starting a process in the
// container costs it ~45 ms of CPU here (docs/performance.md), which would
// land in the very figures it reads.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { REPO_ROOT, type StackSettings } from './settings.js';

const run = promisify(execFile);

/** Where each cgroup layout keeps a container's CPU usage, and the factor to microseconds. */
const USAGE_FILES = (id: string): { path: string; read(text: string): number }[] => {
  const v2 = (text: string) => Number(/^usage_usec (\d+)$/m.exec(text)?.[1]);
  const v1 = (text: string) => Number(text.trim()) / 1000;
  return [
    { path: `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, read: v2 },
    { path: `/sys/fs/cgroup/docker/${id}/cpu.stat`, read: v2 },
    { path: `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, read: v1 },
    { path: `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`, read: v1 },
    { path: `/sys/fs/cgroup/cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`, read: v1 },
  ];
};

/** The container id of each Compose service, as `docker compose ps -q` gives it. */
export async function serviceContainers(s: Pick<StackSettings, 'ENV_FILE'>, services: readonly string[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const service of services) {
    const { stdout } = await run('docker', ['compose', '--env-file', s.ENV_FILE, 'ps', '-q', '--no-trunc', service], { cwd: REPO_ROOT });
    const id = stdout.trim().split('\n')[0];
    if (!id) throw new Error(`no running container for service ${service}: is the stack up?`);
    ids[service] = id;
  }
  return ids;
}

/** CPU time used by the container since it started, in microseconds. */
export function cpuUsageUsec(containerId: string): number {
  for (const { path, read } of USAGE_FILES(containerId)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const usec = read(text);
    if (Number.isFinite(usec)) return usec;
  }
  throw new Error(
    `cannot find the cgroup of container ${containerId.slice(0, 12)} under /sys/fs/cgroup: ` +
      'the Docker engine must run on this host (not in a VM such as Docker Desktop)',
  );
}

/** Every container's usage at one moment. */
export function cpuSnapshot(ids: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(ids).map(([service, id]) => [service, cpuUsageUsec(id)]));
}
