// Condition → Alertmanager alert (notify/alertmanagerAlert.ts): labels that
// name the incident and never the watcher, startsAt/endsAt from the incident,
// the Slack message's wording in the annotations, and the maintenance silence.
import { describe, expect, it } from 'vitest';
import type { ConditionView } from '../../../watcher/detect/index.js';
import {
  ALERT_NAMES,
  alertLabels,
  fingerprint,
  maintenanceSilence,
  toAlertmanagerAlert,
} from '../../../watcher/notify/alertmanagerAlert.js';
import { INCIDENT_KINDS } from '../../../watcher/vocabulary.js';
import { failoverView } from './records.js';

const OPENED = Date.UTC(2026, 10, 22, 0, 6, 32, 123);
const NOW = OPENED + 20_000;

const failover = (fields: Partial<ConditionView> = {}): ConditionView => failoverView(OPENED, NOW, fields);

describe('incident → Alertmanager alert', () => {
  it('labels the incident (kind, stack, pool), so every watcher of the stack makes the same alert', () => {
    const a = toAlertmanagerAlert(failover(), { stack: 'prod', openedAt: OPENED, endsAt: NOW + 240_000 });
    // Another watcher saw it open a moment later and counted other failures: same labels.
    const b = toAlertmanagerAlert(failover({ since: OPENED + 700, failures: 2, at: NOW + 300 }), {
      stack: 'prod',
      openedAt: OPENED + 700,
      endsAt: NOW + 240_300,
    });
    expect(a.labels).toEqual({ alertname: 'BlueGreenFailover', kind: 'failover', stack: 'prod', severity: 'page', pool: 'blue' });
    expect(b.labels).toEqual(a.labels);
    expect(fingerprint(b.labels)).toBe(fingerprint(a.labels));
    // Another stack, or another pool, is another alert.
    expect(fingerprint(alertLabels(failover(), 'staging'))).not.toBe(fingerprint(a.labels));
    expect(fingerprint(alertLabels(failover({ pool: 'green', key: 'failover:green' }), 'prod'))).not.toBe(fingerprint(a.labels));
  });

  it('has an alert name for every incident kind, derived from the vocabulary', () => {
    expect(Object.keys(ALERT_NAMES).sort()).toEqual([...INCIDENT_KINDS].sort());
    expect(ALERT_NAMES.error_rate).toBe('BlueGreenErrorRate');
    expect(ALERT_NAMES.outage).toBe('BlueGreenOutage');
    const { pool: _p, ...outage } = failover({ key: 'outage', kind: 'outage', level: 'down' });
    expect(alertLabels(outage, 'prod')).toEqual({ alertname: 'BlueGreenOutage', kind: 'outage', stack: 'prod', severity: 'page' });
    expect(alertLabels({ kind: 'error_rate' }, 'prod').severity).toBe('ticket');
  });

  it('fires from the incident opening until endsAt, with the Slack headline as summary', () => {
    const alert = toAlertmanagerAlert(failover(), { stack: 'prod', openedAt: OPENED, endsAt: NOW + 240_000, runbookUrl: 'https://x.example/runbook.md' });
    expect(alert.startsAt).toBe(new Date(OPENED).toISOString());
    expect(alert.endsAt).toBe(new Date(NOW + 240_000).toISOString());
    expect(alert.annotations).toEqual({
      summary: 'Failover detected: pool changed blue → green',
      description: 'Blue failing, green serving.',
      incident_id: `failover:blue@${OPENED}`,
      runbook_url: 'https://x.example/runbook.md#failover',
    });
  });

  it('resolves with endsAt = when the condition resolved, and the recovery wording', () => {
    const resolvedAt = NOW + 35_000;
    const alert = toAlertmanagerAlert(failover({ active: false, level: 'ok', since: resolvedAt, servingPool: 'blue' }), {
      stack: 'prod',
      openedAt: OPENED,
      endsAt: resolvedAt + 999_999,
    });
    expect(alert.startsAt).toBe(new Date(OPENED).toISOString());
    expect(alert.endsAt).toBe(new Date(resolvedAt).toISOString());
    expect(alert.annotations.summary).toBe('Recovered: pool changed green → blue, steady for 30 s');
    expect(alert.annotations).not.toHaveProperty('runbook_url');
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
