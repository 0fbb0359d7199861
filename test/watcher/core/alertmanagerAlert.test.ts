// Condition → Alertmanager alert (notify/alertmanagerAlert.ts): labels that
// name the incident and the watcher, grouped by the incident's alone;
// startsAt/endsAt as given; the Slack message's wording in the annotations
// (a resolved title that never repeats the firing one); an incident told
// after the fact; and the maintenance silence.
import { describe, expect, it } from 'vitest';
import { UNSEEN } from '../../../watcher/notify/wording.js';
import type { ConditionView } from '../../../watcher/detect/index.js';
import { INCIDENT_ALERTS } from '../../../watcher/catalogue.js';
import {
  alertLabels,
  fingerprint,
  GROUP_BY,
  maintenanceSilence,
  pastAlert,
  toAlertmanagerAlert,
} from '../../../watcher/notify/alertmanagerAlert.js';
import { INCIDENT_KINDS } from '../../../watcher/vocabulary.js';
import { failoverView } from './records.js';

const OPENED = Date.UTC(2026, 10, 22, 0, 6, 32, 123);
const NOW = OPENED + 20_000;

const failover = (fields: Partial<ConditionView> = {}): ConditionView => failoverView(OPENED, NOW, fields);

describe('incident → Alertmanager alert', () => {
  it('labels the incident and its watcher: two watchers make two alerts of one group', () => {
    const a = toAlertmanagerAlert(failover(), { stack: 'prod', instance: 'alert_watcher', openedAt: OPENED, endsAt: NOW + 240_000 });
    // Another watcher saw it open a moment later and counted other failures.
    const b = toAlertmanagerAlert(failover({ since: OPENED + 700, failures: 2, at: NOW + 300 }), {
      stack: 'prod',
      instance: 'alert_watcher_b',
      openedAt: OPENED + 700,
      endsAt: NOW + 240_300,
    });
    expect(a.labels).toEqual({ alertname: 'BlueGreenFailover', kind: 'failover', stack: 'prod', severity: 'critical', pool: 'blue', instance: 'alert_watcher' });
    // One watcher's all-clear is its own alert's: it cannot resolve the other's.
    expect(fingerprint(b.labels)).not.toBe(fingerprint(a.labels));
    const group = (labels: Record<string, string>) => GROUP_BY.map((l) => labels[l]);
    expect(group(b.labels)).toEqual(group(a.labels));
    expect(GROUP_BY).not.toContain('instance');
    // Another stack, or another pool, is another group.
    expect(group(alertLabels(failover(), 'staging', 'w'))).not.toEqual(group(a.labels));
    expect(group(alertLabels(failover({ pool: 'green', key: 'failover:green' }), 'prod', 'w'))).not.toEqual(group(a.labels));
  });

  it("takes each kind's name and severity from the catalogue", () => {
    for (const kind of INCIDENT_KINDS) {
      const labels = alertLabels({ kind, pool: undefined }, 'prod', 'w');
      expect(labels).toMatchObject({ alertname: INCIDENT_ALERTS[kind].name, severity: INCIDENT_ALERTS[kind].severity });
    }
    const { pool: _p, ...outage } = failover({ key: 'outage', kind: 'outage', level: 'down' });
    expect(alertLabels(outage, 'prod', 'w')).toEqual({ alertname: 'BlueGreenOutage', kind: 'outage', stack: 'prod', severity: 'critical', instance: 'w' });
  });

  it('fires from the incident opening until endsAt, with the Slack headline as summary', () => {
    const alert = toAlertmanagerAlert(failover(), {
      stack: 'prod',
      instance: 'w',
      openedAt: OPENED,
      endsAt: NOW + 240_000,
      runbookUrl: 'https://x.example/runbook.md',
    });
    expect(alert.startsAt).toBe(new Date(OPENED).toISOString());
    expect(alert.endsAt).toBe(new Date(NOW + 240_000).toISOString());
    expect(alert.annotations).toEqual({
      summary: 'Failover detected: pool changed blue → green',
      description: 'Blue failing, green serving.',
      // What a resolved title says if the alert expires, nobody having re-sent it: never the firing headline.
      resolved_summary: 'Failover (blue) no longer reported: its watcher stopped re-sending it; check make status',
      partial_summary: 'Still open for some watchers: Failover detected: pool changed blue → green',
      resolved_by: 'expiry',
      incident_id: `failover:blue@${OPENED}`,
      runbook_url: 'https://x.example/runbook.md#failover',
    });
  });

  it('resolves with endsAt = when the condition resolved, and the recovery wording', () => {
    const resolvedAt = NOW + 35_000;
    const alert = toAlertmanagerAlert(failover({ active: false, level: 'ok', since: resolvedAt, servingPool: 'blue' }), {
      stack: 'prod',
      instance: 'w',
      openedAt: OPENED,
      endsAt: resolvedAt,
    });
    expect(alert.startsAt).toBe(new Date(OPENED).toISOString());
    expect(alert.endsAt).toBe(new Date(resolvedAt).toISOString());
    expect(alert.annotations.summary).toBe('Recovered: pool changed green → blue, steady for 30 s');
    expect(alert.annotations.resolved_summary).toBe(alert.annotations.summary);
    expect(alert.annotations).not.toHaveProperty('runbook_url');
  });

  it('tells an incident after the fact under a name of its own, worded as past whichever its status', () => {
    const resolvedAt = OPENED + 40_000;
    const live = alertLabels(failover(), 'prod', 'w');
    const alert = pastAlert(failover({ active: false, level: 'ok', since: resolvedAt, servingPool: 'blue' }), {
      stack: 'prod',
      instance: 'w',
      openedAt: OPENED,
      resolvedAt,
      endsAt: NOW + 60_000,
      unseen: UNSEEN.alertmanagerDown,
    });
    expect(alert.labels).toMatchObject({ alertname: 'BlueGreenPastIncident', severity: 'info', kind: 'failover', pool: 'blue', instance: 'w' });
    expect(alert.labels.alertname).not.toBe(live.alertname);
    expect(alert.annotations.summary).toBe(
      'After the fact: Failover of blue from 00:06:32 to 00:07:12 UTC, while Alertmanager was out of reach; over since then',
    );
    expect(alert.annotations.resolved_summary).toBe(alert.annotations.summary);
    expect(alert.endsAt).toBe(new Date(NOW + 60_000).toISOString());
  });

  it('silences every alert of the stack, from now for the given time', () => {
    expect(maintenanceSilence({ stack: 'prod', now: NOW, durationMs: 3_600_000, createdBy: 'alice' })).toEqual({
      matchers: [{ name: 'stack', value: 'prod', isRegex: false, isEqual: true }],
      startsAt: new Date(NOW).toISOString(),
      endsAt: new Date(NOW + 3_600_000).toISOString(),
      createdBy: 'alice',
      comment: expect.stringContaining('make maintenance-off'),
    });
  });
});
