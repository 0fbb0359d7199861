// A saved state with every section populated and consistent (each incident has
// its condition), and a checkpoint in a temp dir whose log lines the test reads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../common/logger.js';
import { Detector, type ConditionView, type DetectorState } from '../../../watcher/detect/index.js';
import { createCheckpoint, STATE_FILE, type CheckpointOptions, type SavedState } from '../../../watcher/state/checkpoint.js';

export const NOW = Date.UTC(2026, 10, 22);
export const FINGERPRINT = 'ab12'.repeat(10);

export const CONDITION: ConditionView = {
  key: 'failover:blue',
  kind: 'failover',
  active: true,
  level: 'failing',
  since: NOW - 5_000,
  at: NOW - 4_000,
  pool: 'blue',
  primaryPool: 'blue',
  servingPool: 'green',
  releases: { blue: 'blue-v1', green: 'green-v1' },
  failures: 3,
  flips: 1,
  recentFlips: 1,
  holdMs: 10_000,
  share: { failed: 3, attempts: 40 },
  window: {
    size: 200,
    count: 200,
    errors: 3,
    clientErrors: 0,
    upstreamErrors: 3,
    errorRate: 1.5,
    clientErrorRate: 0,
    upstreamErrorRate: 1.5,
    topFailingUpstream: { addr: '172.18.0.3:3000', failures: 3 },
  },
  thresholdPercent: 2,
  lastFailure: { method: 'GET', path: '/version', status: 200, upstreamStatuses: [500, 200], upstreamAddrs: ['172.18.0.3:3000', '172.18.0.4:3000'] },
};

const FAILOVER_ID = `failover:blue@${NOW - 5_000}`;

export const STATE: SavedState = {
  position: { fingerprint: FINGERPRINT, fingerprintBytes: 256, offset: 4096 },
  detector: {
    servingPool: 'green',
    primaryPool: 'blue',
    usedSwitchIds: ['m1', 'm2'],
    failover: {
      blue: { active: true, since: NOW - 5_000, failures: 3, flips: 1, recentFlips: [NOW - 5_000] },
      green: { active: false, since: NOW - 3_600_000, failures: 9, flips: 2, recentFlips: [NOW - 3_700_000, NOW - 3_650_000] },
    },
    degraded: {
      blue: {
        active: true,
        since: NOW - 9_000,
        failures: 2,
        steadySince: NOW - 1_000,
        replicas: [{ addr: '172.18.0.5:3000', failures: 2, lastAt: NOW - 8_000 }],
      },
      green: { active: false, since: NOW - 7_200_000, failures: 1, replicas: [] },
    },
    outage: { active: false, since: NOW - 60_000, failures: 40 },
    errorRate: { active: true, since: NOW - 50_000, failures: 12, clientVisible: true },
  },
  policy: {
    incidents: [
      {
        id: FAILOVER_ID,
        key: 'failover:blue',
        kind: 'failover',
        openedAt: NOW - 5_000,
        told: { active: true, level: 'failing', failures: 3, flips: 1, at: NOW - 4_000 },
        lastSentAt: NOW - 4_000,
        deferred: 0,
      },
      // Opened during maintenance: Slack has heard nothing of it.
      { id: `degraded:blue@${NOW - 9_000}`, key: 'degraded:blue', kind: 'degraded', openedAt: NOW - 9_000, deferred: 1, reported: { active: true, level: 'masked' } },
      // Resolved; the all-clear is on its way.
      {
        id: `outage@${NOW - 120_000}`,
        key: 'outage',
        kind: 'outage',
        openedAt: NOW - 120_000,
        told: { active: false, level: 'ok', failures: 40, flips: 0, at: NOW - 30_000 },
        lastSentAt: NOW - 30_000,
        deferred: 0,
      },
      {
        id: `error_rate@${NOW - 50_000}`,
        key: 'error_rate',
        kind: 'error_rate',
        openedAt: NOW - 50_000,
        told: { active: true, level: 'client_visible', failures: 10, flips: 0, at: NOW - 45_000 },
        lastSentAt: NOW - 45_000,
        deferred: 2,
        reported: { active: true, level: 'masked' },
      },
    ],
    maintenance: true,
    quiet: 2,
  },
  pending: [
    { kind: 'failover', message: 'opened', incidentId: FAILOVER_ID, openedAt: NOW - 5_000, at: NOW - 4_000, condition: CONDITION, deferred: 0 },
    { kind: 'planned_switch', message: 'notice', at: NOW - 3_000, from: 'blue', to: 'green', toRelease: 'green-v2' },
    { kind: 'maintenance_ended', message: 'notice', at: NOW - 2_000, open: [CONDITION], resolved: [], quiet: 2 },
    {
      kind: 'release',
      message: 'notice',
      at: NOW - 1_000,
      entry: { time: new Date(NOW - 1_500).toISOString(), action: 'release', outcome: 'blocked', release: 'r2', fromPool: 'blue', who: 'ci' },
    },
    { kind: 'watcher_restarted', message: 'notice', at: NOW - 500, downSince: NOW - 90_000 },
    {
      kind: 'outage',
      message: 'resolved',
      incidentId: `outage@${NOW - 120_000}`,
      openedAt: NOW - 120_000,
      at: NOW - 30_000,
      condition: { ...CONDITION, key: 'outage', kind: 'outage', active: false, level: 'ok', since: NOW - 30_000 },
      before: { active: true, level: 'down', failures: 38, flips: 0, at: NOW - 90_000 },
      deferred: 1,
    },
  ],
};

/** `state` as JSON brings it back: no undefined fields. */
export const roundTripped = <T>(state: T): T => JSON.parse(JSON.stringify(state));

/** STATE as saved on disk, with `change` applied to a deep copy. */
export function saved(change: (s: Record<string, any>) => void = () => {}): Record<string, any> {
  const s: Record<string, any> = { version: 2, savedAt: new Date(NOW).toISOString(), ...roundTripped(STATE) };
  change(s);
  return s;
}

export type LogLine = { level: string; msg: string; [k: string]: unknown };

/** A temp dir with a checkpoint in it; `logs` collects what it logged. */
export function checkpointDir() {
  const dir = mkdtempSync(join(tmpdir(), 'checkpoint-'));
  const logs: LogLine[] = [];
  const logger = createLogger('test', 'info', { write: (s: string) => void logs.push(JSON.parse(s)) });
  return {
    dir,
    logs,
    file: join(dir, STATE_FILE),
    checkpoint: (opts: Partial<CheckpointOptions> = {}) => createCheckpoint({ dir, clock: () => NOW, logger, ...opts }),
    write: (content: unknown) => writeFileSync(join(dir, STATE_FILE), typeof content === 'string' ? content : JSON.stringify(content)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A detector carrying on from a saved state, with the settings the saved conditions were made with. */
export function restoredDetector(restore: DetectorState, clock: () => number): Detector {
  return new Detector({
    activePool: 'blue',
    windowSize: 200,
    poolWindowSize: 100,
    thresholdPercent: 2,
    recoveryHoldMs: 10_000,
    clock,
    plannedSwitch: () => undefined,
    restore,
  });
}
