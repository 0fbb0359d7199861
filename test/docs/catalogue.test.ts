// The alert catalogue said once (watcher/catalogue.ts): monitoring/rules.yml,
// its promtool tests, Alertmanager's inhibit rules and the docs' tables agree
// with it, and each check names the drift it finds (the planted cases below).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTS, INCIDENT_ALERTS, SEVERITIES, alertName, runbookAnchor, severity } from '../../watcher/catalogue.js';
import { ALERT_KINDS, INCIDENT_KINDS } from '../../watcher/vocabulary.js';
import {
  checkAlertmanagerLabels,
  checkInhibitions,
  checkKindsTable,
  checkMetricsTable,
  checkRules,
  checkRuleTests,
  checkRunbook,
  type Catalogue,
  type Source,
} from './catalogueChecks.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string): Source => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') });

const incidents = new Set(Object.values(INCIDENT_ALERTS));
const CATALOGUE: Catalogue = {
  alerts: ALERTS.map((a) => ({ ...a, incident: incidents.has(a) })),
  severities: SEVERITIES,
  anchors: new Map(ALERT_KINDS.map((k) => [k, runbookAnchor(k)])),
};

describe('the catalogue', () => {
  it('names every incident kind once, with a severity on the scale', () => {
    expect(INCIDENT_KINDS.map(alertName)).toEqual(['BlueGreenFailover', 'BlueGreenOutage', 'BlueGreenErrorRate', 'BlueGreenDegraded']);
    expect(new Set(ALERTS.map((a) => a.name)).size).toBe(ALERTS.length);
    expect(INCIDENT_KINDS.map(severity)).toEqual(['critical', 'critical', 'critical', 'warning']);
  });

  it("gives every message kind a runbook section, as Slack's links have them", () => {
    expect(Object.fromEntries(CATALOGUE.anchors)).toEqual({
      failover: 'failover',
      outage: 'outage',
      error_rate: 'high-error-rate',
      degraded: 'degraded-pool',
      planned_switch: 'planned-switch',
      maintenance_ended: 'maintenance',
      release: 'releases',
      watcher_restarted: 'watcher-restarted',
      past_incident: 'past-incident',
    });
  });
});

describe('the repository against the catalogue', () => {
  it('monitoring/rules.yml: every alert has its name, severity and runbook_url, and every entry is a rule', () => {
    expect(checkRules(read('monitoring/rules.yml'), CATALOGUE)).toEqual([]);
  });

  it("monitoring/tests/rules.test.yml expects the catalogue's labels and makes every alert fire", () => {
    expect(checkRuleTests(read('monitoring/tests/rules.test.yml'), CATALOGUE)).toEqual([]);
  });

  it('monitoring/alertmanager.yml: an outage inhibits the rest of its stack, a failover its pool’s degraded alert', () => {
    const { problems, pairs } = checkInhibitions(read('monitoring/alertmanager.yml'), CATALOGUE);
    expect(problems).toEqual([]);
    expect(pairs).toEqual(
      expect.arrayContaining([
        { source: 'BlueGreenOutage', target: 'BlueGreenFailover', equal: ['stack'] },
        { source: 'BlueGreenOutage', target: 'BlueGreenErrorRate', equal: ['stack'] },
        { source: 'BlueGreenOutage', target: 'BlueGreenDegraded', equal: ['stack'] },
        { source: 'BlueGreenFailover', target: 'BlueGreenDegraded', equal: ['stack', 'pool'] },
      ]),
    );
  });

  it("docs/metrics.md's alert table", () => {
    expect(checkMetricsTable(read('docs/metrics.md'), CATALOGUE)).toEqual([]);
  });

  it("docs/alertmanager.md's labels table", () => {
    expect(checkAlertmanagerLabels(read('docs/alertmanager.md'), CATALOGUE)).toEqual([]);
  });

  it("docs/runbook.md's severity lines", () => {
    expect(checkRunbook(read('docs/runbook.md'), CATALOGUE)).toEqual([]);
  });

  it("docs/watcher.md's alert kinds table", () => {
    expect(checkKindsTable(read('docs/watcher.md'), CATALOGUE)).toEqual([]);
  });
});

describe('the checks themselves, on planted drift', () => {
  const planted: Catalogue = {
    alerts: [
      { name: 'BlueGreenFailover', severity: 'critical', anchor: 'failover', meaning: '', incident: true },
      { name: 'BlueGreenDegraded', severity: 'warning', anchor: 'degraded-pool', meaning: '', incident: true },
      { name: 'BlueGreenPoolFailing', severity: 'warning', anchor: 'failover', meaning: '', incident: false },
    ],
    severities: SEVERITIES,
    anchors: new Map([['failover', 'failover'], ['degraded', 'degraded-pool']]),
  };
  const src = (file: string, lines: string[]): Source => ({ file, text: lines.join('\n') });

  it('rules: a wrong severity, a wrong runbook_url, an alert not catalogued, an entry with no rule', () => {
    const rules = src('rules.yml', [
      'groups:',
      '  - rules:',
      '      - record: x:y',
      '      - { alert: BlueGreenFailover, labels: { severity: page }, annotations: { runbook_url: "docs/runbook.md#failover" } }',
      '      - { alert: BlueGreenDegraded, labels: { severity: warning }, annotations: { runbook_url: "docs/runbook.md#degraded" } }',
      '      - { alert: BlueGreenGhost, labels: { severity: warning } }',
    ]);
    expect(checkRules(rules, planted)).toEqual([
      'rules.yml: BlueGreenFailover: severity "page", the catalogue says "critical"',
      'rules.yml: BlueGreenDegraded: runbook_url "docs/runbook.md#degraded", the catalogue says "docs/runbook.md#degraded-pool"',
      'rules.yml: BlueGreenGhost is not in the catalogue',
      'rules.yml: BlueGreenPoolFailing is in the catalogue but not a rule here',
    ]);
  });

  it('rule tests: a stale expected severity, an unknown alert, an alert no test fires', () => {
    const tests = src('t.yml', [
      'tests:',
      '  - name: one',
      '    alert_rule_test:',
      '      - { alertname: BlueGreenFailover, exp_alerts: [{ exp_labels: { severity: page }, exp_annotations: { runbook_url: "docs/runbook.md#failover" } }] }',
      '      - { alertname: BlueGreenDegraded, exp_alerts: [] }',
      '      - { alertname: BlueGreenPoolFailing, exp_alerts: [{ exp_labels: { severity: warning } }] }',
      '      - { alertname: BlueGreenGhost, exp_alerts: [] }',
    ]);
    expect(checkRuleTests(tests, planted)).toEqual([
      't.yml: BlueGreenFailover in test "one": severity "page", the catalogue says "critical"',
      't.yml: test "one" expects BlueGreenGhost, which is not in the catalogue',
      't.yml: no test makes BlueGreenDegraded fire',
    ]);
  });

  it('inhibit rules: an unknown name or severity, a warning silencing a critical alert', () => {
    const am = src('am.yml', [
      'inhibit_rules:',
      '  - { source_matchers: [\'alertname="BlueGreenDegraded"\'], target_matchers: [\'alertname=~"BlueGreenFailover|BlueGreenGone"\'], equal: [stack] }',
      '  - { source_matchers: [\'alertname="BlueGreenFailover"\'], target_matchers: [\'severity="ticket"\'] }',
      '  - { source_matchers: [\'severity="critical"\'], target_matchers: [\'severity="warning"\'], equal: [stack, pool] }',
    ]);
    const { problems, pairs } = checkInhibitions(am, planted);
    expect(problems).toEqual([
      'am.yml: inhibit rule 1: alertname "BlueGreenGone" is not in the catalogue',
      'am.yml: inhibit rule 1: BlueGreenDegraded (warning) would silence BlueGreenFailover (critical)',
      'am.yml: inhibit rule 2: severity "ticket" is not in the catalogue',
    ]);
    expect(pairs.slice(1)).toEqual([
      { source: 'BlueGreenFailover', target: 'BlueGreenDegraded', equal: ['stack', 'pool'] },
      { source: 'BlueGreenFailover', target: 'BlueGreenPoolFailing', equal: ['stack', 'pool'] },
    ]);
  });

  it("metrics.md: a stale severity, an alert not catalogued, a missing row", () => {
    const md = src('m.md', ['text', '| alert | fires when | severity |', '|---|---|---|', '| `BlueGreenFailover` | x | page |', '| `BlueGreenGhost` | y | warning |', '| `BlueGreenDegraded` | z | warning |', '', '| alert | other |']);
    expect(checkMetricsTable(md, planted)).toEqual([
      'm.md:4: BlueGreenFailover is "page", the catalogue says "critical"',
      'm.md:5: BlueGreenGhost is not in the catalogue',
      'm.md: BlueGreenPoolFailing is missing from the alert table',
    ]);
  });

  it("alertmanager.md: a rule-only alert among the posted names, a posted one missing, a stale severity", () => {
    const md = src('a.md', [
      '| label | value |',
      '|---|---|',
      '| `alertname` | `BlueGreenFailover`, `BlueGreenPoolFailing`, … |',
      '| `severity` | `page`: `BlueGreenFailover`; `warning` (act today): `BlueGreenPoolFailing` |',
    ]);
    expect(checkAlertmanagerLabels(md, planted)).toEqual([
      'a.md:3: BlueGreenPoolFailing is not an alert the watcher posts',
      'a.md:3: BlueGreenDegraded is missing from the alertname row',
      'a.md:4: BlueGreenFailover is "page", the catalogue says "critical"',
      'a.md:4: the severity row does not name BlueGreenDegraded',
    ]);
  });

  it('runbook: an old severity word, a section that says another severity, a shared section that does not name its alert', () => {
    const md = src('r.md', [
      '# Runbook', // 1
      '## Failover', // 2
      '**Severity:** high, not yet user-facing', // 3
      'for most (`BlueGreenDegraded`: critical).', // 4
      '', // 5
      '```sh', // 6
      '# Degraded pool', // 7
      '```', // 8
      '### Degraded pool', // 9
      '**Severity:** warning, not user-facing.', // 10
    ]);
    expect(checkRunbook(md, planted)).toEqual([
      'r.md:3: #failover: severity "high" is not one of critical, warning, info, information',
      'r.md:3: #failover: BlueGreenDegraded is "critical", the catalogue says "warning"',
      'r.md:3: #failover says "high", the catalogue says BlueGreenFailover is "critical"',
      "r.md:3: #failover does not give BlueGreenPoolFailing's severity (`BlueGreenPoolFailing`: warning)",
    ]);
    expect(checkRunbook(src('r.md', ['## Failover', 'No severity.']), planted)).toEqual([
      'r.md: #failover has no **Severity:** line for BlueGreenFailover',
      'r.md: no section #degraded-pool for BlueGreenDegraded',
      'r.md: #failover has no **Severity:** line for BlueGreenPoolFailing',
    ]);
  });

  it("watcher.md: a kind linked to another section, a kind missing", () => {
    const md = src('w.md', ['| kind | what | runbook section |', '|---|---|---|', '| `failover` | x | [#fail](runbook.md#fail) |', '| `test` | y | none |']);
    expect(checkKindsTable(md, planted)).toEqual(['w.md:3: failover links #fail, the catalogue says #failover', 'w.md: kind degraded is missing from the alert kinds table']);
  });
});
