// The alert catalogue (watcher/catalogue.ts) against each file that repeats
// it: the Prometheus rules and their promtool tests, Alertmanager's inhibit
// rules, and the docs' tables and severity lines. Plain functions over text,
// each problem one line that names the file, the alert and both values, so
// test/docs/catalogue.test.ts can prove each check fails on a planted drift.
import { parse as parseYaml } from 'yaml';
import type { AlertEntry, Severity } from '../../watcher/catalogue.js';

export interface Source {
  /** Relative to the repository root: 'monitoring/rules.yml'. */
  file: string;
  text: string;
}

export interface Catalogue {
  /** Every named alert; `incident`: the watcher posts it to Alertmanager itself. */
  alerts: readonly (AlertEntry & { incident: boolean })[];
  severities: readonly Severity[];
  /** Each message kind the watcher sends, with its runbook anchor. */
  anchors: ReadonlyMap<string, string>;
}

const RUNBOOK = 'docs/runbook.md';
const runbookUrl = (anchor: string) => `${RUNBOOK}#${anchor}`;
const byName = (c: Catalogue) => new Map(c.alerts.map((a) => [a.name, a]));

// --- monitoring/ ------------------------------------------------------------------

interface RuleFile {
  groups?: { rules?: { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

/** Every alert of rules.yml is a catalogue entry with its severity and runbook_url, and every entry is an alert there. */
export function checkRules(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const entries = byName(c);
  const seen = new Set<string>();
  const rules = ((parseYaml(src.text) as RuleFile).groups ?? []).flatMap((g) => g.rules ?? []);
  for (const rule of rules) {
    if (rule.alert === undefined) continue;
    seen.add(rule.alert);
    const entry = entries.get(rule.alert);
    if (entry === undefined) {
      problems.push(`${src.file}: ${rule.alert} is not in the catalogue`);
      continue;
    }
    problems.push(...differs(src.file, rule.alert, 'severity', rule.labels?.severity, entry.severity));
    problems.push(...differs(src.file, rule.alert, 'runbook_url', rule.annotations?.runbook_url, runbookUrl(entry.anchor)));
  }
  for (const entry of c.alerts) if (!seen.has(entry.name)) problems.push(`${src.file}: ${entry.name} is in the catalogue but not a rule here`);
  return problems;
}

interface RuleTests {
  tests?: {
    name?: string;
    alert_rule_test?: { alertname?: string; exp_alerts?: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] }[];
  }[];
}

/** The promtool tests expect the catalogue's labels, and make every catalogue alert fire at least once. */
export function checkRuleTests(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const entries = byName(c);
  const fired = new Set<string>();
  for (const test of (parseYaml(src.text) as RuleTests).tests ?? []) {
    for (const t of test.alert_rule_test ?? []) {
      const entry = entries.get(t.alertname ?? '');
      if (entry === undefined) {
        problems.push(`${src.file}: test "${test.name}" expects ${t.alertname}, which is not in the catalogue`);
        continue;
      }
      for (const exp of t.exp_alerts ?? []) {
        fired.add(entry.name);
        const where = `${entry.name} in test "${test.name}"`;
        problems.push(...differs(src.file, where, 'severity', exp.exp_labels?.severity, entry.severity));
        const url = exp.exp_annotations?.runbook_url;
        if (url !== undefined) problems.push(...differs(src.file, where, 'runbook_url', url, runbookUrl(entry.anchor)));
      }
    }
  }
  for (const entry of c.alerts) if (!fired.has(entry.name)) problems.push(`${src.file}: no test makes ${entry.name} fire`);
  return problems;
}

export interface Inhibition {
  source: string;
  target: string;
  equal: string[];
}

/**
 * The inhibit rules of alertmanager.yml, one pair per source and target alert
 * name; names and severities they match on must be the catalogue's, and no
 * alert silences a more severe one.
 */
export function checkInhibitions(src: Source, c: Catalogue): { problems: string[]; pairs: Inhibition[] } {
  const problems: string[] = [];
  const pairs: Inhibition[] = [];
  const entries = byName(c);
  // The scale runs from the most severe: a lower index is worse.
  const rank = (s: Severity) => c.severities.indexOf(s);
  const doc = parseYaml(src.text) as { inhibit_rules?: { source_matchers?: string[]; target_matchers?: string[]; equal?: string[] }[] };
  for (const [i, rule] of (doc.inhibit_rules ?? []).entries()) {
    const where = `${src.file}: inhibit rule ${i + 1}`;
    const side = (matchers: string[] | undefined): AlertEntry[] => {
      let matched = [...c.alerts];
      for (const matcher of matchers ?? []) {
        const m = /^(alertname|severity)(=~|=)"(.*)"$/.exec(matcher);
        if (!m) continue;
        const label = m[1] as 'alertname' | 'severity';
        const values = m[2] === '=~' ? m[3]!.split('|') : [m[3]!];
        for (const v of values) {
          const known = label === 'alertname' ? entries.has(v) : (c.severities as readonly string[]).includes(v);
          if (!known) problems.push(`${where}: ${label} "${v}" is not in the catalogue`);
        }
        matched = matched.filter((a) => values.includes(label === 'alertname' ? a.name : a.severity));
      }
      return matched;
    };
    const targets = side(rule.target_matchers);
    for (const s of side(rule.source_matchers)) {
      for (const t of targets) {
        if (s.name === t.name) continue;
        pairs.push({ source: s.name, target: t.name, equal: rule.equal ?? [] });
        if (rank(s.severity) > rank(t.severity)) problems.push(`${where}: ${s.name} (${s.severity}) would silence ${t.name} (${t.severity})`);
      }
    }
  }
  return { problems, pairs };
}

function differs(file: string, what: string, field: string, got: string | undefined, want: string): string[] {
  return got === want ? [] : [`${file}: ${what}: ${field} ${got === undefined ? 'missing' : `"${got}"`}, the catalogue says "${want}"`];
}

// --- docs/ --------------------------------------------------------------------

interface Row {
  line: number;
  cells: string[];
}

/** The rows of the markdown table whose header's first cell is `first`. */
function tableRows(text: string, first: string): Row[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => cellsOf(l)[0] === first);
  if (start < 0) return [];
  const rows: Row[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push({ line: i + 1, cells: cellsOf(lines[i]!) });
  return rows;
}

const cellsOf = (line: string): string[] => (line.startsWith('|') ? line.split('|').slice(1, -1).map((c) => c.trim()) : []);
const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** docs/metrics.md: one row per catalogue alert in its `| alert | fires when | severity |` table. */
export function checkMetricsTable(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const entries = byName(c);
  const rows = tableRows(src.text, 'alert');
  const listed = new Set<string>();
  for (const { line, cells } of rows) {
    const name = codeSpans(cells[0] ?? '')[0] ?? cells[0] ?? '';
    const severity = cells.at(-1);
    listed.add(name);
    const entry = entries.get(name);
    if (entry === undefined) problems.push(`${src.file}:${line}: ${name} is not in the catalogue`);
    else if (severity !== entry.severity) problems.push(`${src.file}:${line}: ${name} is "${severity}", the catalogue says "${entry.severity}"`);
  }
  for (const entry of c.alerts) if (!listed.has(entry.name)) problems.push(`${src.file}: ${entry.name} is missing from the alert table`);
  return problems;
}

/** docs/alertmanager.md's labels table: the alert names the watcher posts and their severities (`sev` (why): `Name`, …; …). */
export function checkAlertmanagerLabels(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const posted = c.alerts.filter((a) => a.incident);
  const rows = tableRows(src.text, 'label');
  const row = (label: string) => rows.find((r) => r.cells[0] === `\`${label}\``);
  const names = row('alertname');
  if (names === undefined) problems.push(`${src.file}: no \`alertname\` row in the labels table`);
  else {
    const listed = codeSpans(names.cells[1] ?? '').filter((s) => s.startsWith('BlueGreen'));
    for (const n of listed) if (!posted.some((a) => a.name === n)) problems.push(`${src.file}:${names.line}: ${n} is not an alert the watcher posts`);
    for (const a of posted) if (!listed.includes(a.name)) problems.push(`${src.file}:${names.line}: ${a.name} is missing from the alertname row`);
  }
  const severities = row('severity');
  if (severities === undefined) return [...problems, `${src.file}: no \`severity\` row in the labels table`];
  const said = new Map<string, string>();
  for (const part of (severities.cells[1] ?? '').split(';')) {
    const [severity, ...alerts] = codeSpans(part);
    for (const n of alerts) said.set(n, severity ?? '');
  }
  for (const a of posted) {
    const s = said.get(a.name);
    if (s === undefined) problems.push(`${src.file}:${severities.line}: the severity row does not name ${a.name}`);
    else if (s !== a.severity) problems.push(`${src.file}:${severities.line}: ${a.name} is "${s}", the catalogue says "${a.severity}"`);
  }
  return problems;
}

/** docs/watcher.md's Alert kinds table links each kind's runbook section. */
export function checkKindsTable(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const rows = tableRows(src.text, 'kind');
  for (const [kind, anchor] of c.anchors) {
    const row = rows.find((r) => r.cells[0] === `\`${kind}\``);
    const linked = /\(runbook\.md#([^)]+)\)/.exec(row?.cells.at(-1) ?? '')?.[1];
    if (row === undefined) problems.push(`${src.file}: kind ${kind} is missing from the alert kinds table`);
    else if (linked !== anchor) problems.push(`${src.file}:${row.line}: ${kind} links #${linked ?? '(none)'}, the catalogue says #${anchor}`);
  }
  return problems;
}

interface Section {
  anchor: string;
  /** The section's **Severity:** paragraph, up to the next blank line. */
  severity?: { line: number; text: string };
}

/** The runbook's sections by heading anchor, each up to the next heading. */
function sectionsOf(text: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let inFence = false;
  let paragraph: { line: number; text: string } | undefined;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      current = { anchor: slug(heading[1]!) };
      if (!sections.has(current.anchor)) sections.set(current.anchor, current);
    }
    if (line.trim() === '') paragraph = undefined;
    else if (paragraph !== undefined) paragraph.text += ` ${line.trim()}`;
    else if (current !== undefined && current.severity === undefined && line.startsWith('**Severity:**')) {
      paragraph = { line: i + 1, text: line.slice('**Severity:**'.length).trim() };
      current.severity = paragraph;
    }
  });
  return sections;
}

/** GitHub's anchor for the runbook's plain headings. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');

/**
 * docs/runbook.md: every Severity line is on the catalogue's scale (or
 * information); an incident's section says its severity first; an alert that
 * shares a section is named with its own (`BlueGreenPoolFailing`: warning).
 */
export function checkRunbook(src: Source, c: Catalogue): string[] {
  const problems: string[] = [];
  const entries = byName(c);
  const scale = [...c.severities, 'information'];
  const sections = sectionsOf(src.text);
  for (const { anchor, severity } of sections.values()) {
    if (severity === undefined) continue;
    const first = /^[a-z]*/i.exec(severity.text)![0];
    if (!scale.includes(first)) problems.push(`${src.file}:${severity.line}: #${anchor}: severity "${first}" is not one of ${scale.join(', ')}`);
    for (const m of severity.text.matchAll(/`(BlueGreen\w+)`: (\w+)/g)) {
      const entry = entries.get(m[1]!);
      if (entry === undefined) problems.push(`${src.file}:${severity.line}: #${anchor}: ${m[1]} is not in the catalogue`);
      else if (entry.severity !== m[2]) problems.push(`${src.file}:${severity.line}: #${anchor}: ${m[1]} is "${m[2]}", the catalogue says "${entry.severity}"`);
    }
  }
  for (const entry of c.alerts) {
    const section = sections.get(entry.anchor);
    const said = section?.severity;
    if (section === undefined) problems.push(`${src.file}: no section #${entry.anchor} for ${entry.name}`);
    else if (said === undefined) problems.push(`${src.file}: #${entry.anchor} has no **Severity:** line for ${entry.name}`);
    else if (entry.incident) {
      const first = /^[a-z]*/i.exec(said.text)![0];
      if (first !== entry.severity) problems.push(`${src.file}:${said.line}: #${entry.anchor} says "${first}", the catalogue says ${entry.name} is "${entry.severity}"`);
    } else if (!said.text.includes(`\`${entry.name}\`: `)) {
      problems.push(`${src.file}:${said.line}: #${entry.anchor} does not give ${entry.name}'s severity (\`${entry.name}\`: ${entry.severity})`);
    }
  }
  return problems;
}
