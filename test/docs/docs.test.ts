// The documentation against the repository: every `make` target, link,
// anchor, repository path, npm script, compiled entry point and setting that
// README.md and docs/*.md show must exist, so a newcomer who copies a command
// from them gets the command, not "No rule to make target". The checks are
// plain functions over markdown text, so the self-tests below can feed them
// planted mistakes and prove that each one can fail.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Doc {
  /** Relative to the repository root, with forward slashes: 'docs/runbook.md'. */
  file: string;
  text: string;
}

export interface Problem {
  file: string;
  line: number;
  message: string;
}

export interface Repo {
  makeTargets: ReadonlySet<string>;
  npmScripts: ReadonlySet<string>;
  /** Top-level directories: a code token starting with one of them and a '/' is a repository path. */
  topDirs: ReadonlySet<string>;
  /** A file or directory, relative to the root. */
  exists(rel: string): boolean;
  /** A markdown file's text, relative to the root; undefined when it is not there. */
  read(rel: string): string | undefined;
}

/** What each check looked at, so a test can tell a clean result from one that saw nothing. */
export interface Counts {
  makeMentions: number;
  links: number;
  paths: number;
  scripts: number;
}

const format = (p: Problem): string => `${p.file}:${p.line}: ${p.message}`;

// --- Markdown, as far as the checks need it ---------------------------------

interface Code {
  line: number;
  text: string;
  block: boolean;
}

interface Parsed {
  code: Code[];
  /** The text with fenced blocks blanked, line breaks kept: headings live here. */
  outside: string;
  /** The same with code spans blanked too, offsets kept: links live here. */
  prose: string;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

function parse(text: string): Parsed {
  const lines = text.split('\n');
  const code: Code[] = [];
  const proseLines: string[] = [];
  let fence: string | undefined;
  lines.forEach((line, i) => {
    const m = FENCE.exec(line);
    if (fence !== undefined) {
      if (m && m[1]!.startsWith(fence)) fence = undefined;
      else code.push({ line: i + 1, text: line, block: true });
      proseLines.push('');
      return;
    }
    if (m) {
      fence = m[1]!;
      proseLines.push('');
      return;
    }
    proseLines.push(line);
  });
  const outside = proseLines.join('\n');
  // Code spans may wrap across a line break (CommonMark reads it as a space),
  // but never across a blank line.
  const prose = outside.replace(/(`+)(?!`)((?:(?!\n\s*\n)[\s\S])*?[^`])\1(?!`)/g, (span, _ticks: string, body: string, offset: number) => {
    code.push({ line: lineAt(outside, offset), text: body.replace(/\s*\n\s*/g, ' ').trim(), block: false });
    return span.replace(/[^\n]/g, ' ');
  });
  code.sort((a, b) => a.line - b.line);
  return { code, outside, prose };
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** GitHub's heading anchor: markup dropped, lowercase, punctuation but - and _ removed, spaces to '-'. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link keeps its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a markdown file offers, duplicates numbered as GitHub does (x, x-1, x-2). */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of parse(text).outside.split('\n')) {
    const m = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!m) continue;
    const slug = githubSlug(m[1]!);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

// --- The checks -----------------------------------------------------------------

// `make` as a command: at the start or after a separator, then optional
// VAR=value assignments, then the target. Prose ("make sure") is never code.
const MAKE = /(?:^|[\s;&|($])make((?:\s+[A-Za-z_][A-Za-z0-9_]*=\S*)*)\s+([a-z][a-z0-9-]*)/g;
const NPM_RUN = /(?:^|[\s;&|(])npm\s+run(?:\s+-{1,2}[a-z-]+)*\s+([A-Za-z0-9:_-]+)/g;
// Output of the build, created by it: shown in the docs, never in a fresh clone.
// control/serving-pool: written by the first make switch (the control volume's file).
const GENERATED = ['dist/', 'bench/results/', 'coverage/', 'test/artifacts/', 'control/serving-pool/'];

/** Drops a shell comment from a code block line, so "# make sure ..." is not a command. */
function withoutComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '$1');
}

export function checkDocs(docs: readonly Doc[], repo: Repo): { problems: Problem[]; counts: Counts } {
  const problems: Problem[] = [];
  const counts: Counts = { makeMentions: 0, links: 0, paths: 0, scripts: 0 };
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchorsFor = (rel: string, own?: string): Set<string> | undefined => {
    if (!anchorCache.has(rel)) {
      const text = own ?? repo.read(rel);
      anchorCache.set(rel, text === undefined ? undefined : anchorsOf(text));
    }
    return anchorCache.get(rel);
  };

  for (const doc of docs) {
    const { code, prose } = parse(doc.text);
    const problem = (line: number, message: string) => problems.push({ file: doc.file, line, message });
    anchorCache.set(doc.file, anchorsOf(doc.text));

    for (const c of code) {
      const text = c.block ? withoutComment(c.text) : c.text;

      // (a) make targets
      for (const m of text.matchAll(MAKE)) {
        counts.makeMentions++;
        const target = m[2]!;
        if (!repo.makeTargets.has(target)) problem(c.line, `"make ${target}": no such target in the Makefile`);
      }

      // (d) npm scripts
      for (const m of text.matchAll(NPM_RUN)) {
        counts.scripts++;
        if (!repo.npmScripts.has(m[1]!)) problem(c.line, `"npm run ${m[1]}": no such script in package.json`);
      }

      // (c) repository paths, and (d) compiled entry points mapped to their source
      for (const raw of text.split(/[\s"'`()=,;<>|[\]{}]+/)) {
        const token = raw.replace(/^\.\//, '').replace(/[.:]+$/, '').replace(/#.*$/, '');
        // Placeholders and patterns (`dist/….js`, `bench/results/<name>.json`) name no one file.
        if (/[*…$<>{}]|\.\.\./.test(token)) continue;
        if (/^dist\/.+\.js$/.test(token)) {
          counts.scripts++;
          const source = token.slice('dist/'.length).replace(/\.js$/, '.ts');
          if (!repo.exists(source)) problem(c.line, `"${token}": no source ${source} to build it from`);
          continue;
        }
        if (!token.includes('/') || /^[a-z][a-z0-9+.-]*:/i.test(token)) continue;
        const top = token.split('/')[0]!;
        if (!repo.topDirs.has(top) || GENERATED.some((g) => `${token}/`.startsWith(g))) continue;
        counts.paths++;
        if (!repo.exists(token.replace(/\/$/, ''))) problem(c.line, `"${token}": no such file or directory in the repository`);
      }
    }

    // (b) relative links and anchors
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      counts.links++;
      const line = lineAt(prose, m.index);
      const hash = target.indexOf('#');
      const filePart = hash < 0 ? target : target.slice(0, hash);
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const rel = filePart === '' ? doc.file : path.posix.normalize(path.posix.join(path.posix.dirname(doc.file), decodeURIComponent(filePart)));
      if (rel.startsWith('../') || path.posix.isAbsolute(rel)) {
        problem(line, `link "${target}" leaves the repository`);
        continue;
      }
      if (!repo.exists(rel.replace(/\/$/, ''))) {
        problem(line, `link "${target}": ${rel} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!rel.endsWith('.md')) {
        if (!/^L\d+(-L\d+)?$/.test(anchor)) problem(line, `link "${target}": an anchor on a file that has no headings`);
        continue;
      }
      const anchors = anchorsFor(rel);
      if (!anchors?.has(anchor)) problem(line, `link "${target}": no heading in ${rel} has the anchor #${anchor}`);
    }
  }
  return { problems, counts };
}

/**
 * (e) Every setting of .env.example is in the configuration tables, and every
 * setting in those tables is in .env.example or a config schema.
 */
export function checkSettings(
  config: Doc,
  envExample: Doc,
  schemaTexts: readonly string[],
): { problems: Problem[]; documented: Set<string> } {
  const problems: Problem[] = [];
  const documented = new Map<string, number>();
  let inTable = false;
  config.text.split('\n').forEach((line, i) => {
    if (!line.startsWith('|')) {
      inTable = false;
      return;
    }
    const first = line.split('|')[1]?.trim() ?? '';
    if (/^(variable|setting)$/i.test(first)) {
      inTable = true;
      return;
    }
    if (!inTable) return;
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) if (!documented.has(m[1]!)) documented.set(m[1]!, i + 1);
  });
  const example = new Map<string, number>();
  envExample.text.split('\n').forEach((line, i) => {
    const m = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) example.set(m[1]!, i + 1);
  });
  for (const [name, line] of example) {
    if (!documented.has(name)) problems.push({ file: envExample.file, line, message: `${name} is not in the settings tables of ${config.file}` });
  }
  for (const [name, line] of documented) {
    const known = example.has(name) || schemaTexts.some((text) => new RegExp(`\\b${name}\\b`).test(text));
    if (!known) problems.push({ file: config.file, line, message: `${name} is in no config schema and not in ${envExample.file}` });
  }
  return { problems, documented: new Set(documented.keys()) };
}

// --- The repository ---------------------------------------------------------------

/** Rule lines of the Makefile: "name:" or "a b:" (chaos chaos-stop: export ...). */
export function makeTargetsOf(makefile: string): { all: Set<string>; listed: Set<string> } {
  const all = new Set<string>();
  const listed = new Set<string>();
  for (const line of makefile.split('\n')) {
    const rule = /^([a-z-]+(?: [a-z-]+)*):/.exec(line);
    if (!rule) continue;
    for (const name of rule[1]!.split(' ')) all.add(name);
    // What `make help` prints: a rule with a "## " description.
    if (/^[a-z-]+:.*## /.test(line)) listed.add(rule[1]!);
  }
  return { all, listed };
}

function realRepo(): Repo {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const topDirs = new Set(
    readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !['.git', 'node_modules'].includes(e.name))
      .map((e) => e.name),
  );
  return {
    makeTargets: makeTargetsOf(readFileSync(path.join(ROOT, 'Makefile'), 'utf8')).all,
    npmScripts: new Set(Object.keys(pkg.scripts)),
    topDirs,
    exists: (rel) => existsSync(path.join(ROOT, rel)),
    read: (rel) => {
      const file = path.join(ROOT, rel);
      return existsSync(file) && statSync(file).isFile() ? readFileSync(file, 'utf8') : undefined;
    },
  };
}

function realDocs(): Doc[] {
  const docs = readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs].map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') }));
}

const read = (rel: string): Doc => ({ file: rel, text: readFileSync(path.join(ROOT, rel), 'utf8') });

// --- The tests ----------------------------------------------------------------

describe('README.md and docs/*.md against the repository', () => {
  const docs = realDocs();
  const { problems, counts } = checkDocs(docs, realRepo());
  const where = (kind: RegExp) => problems.filter((p) => kind.test(p.message)).map(format);

  it('reads the README and the docs, and finds what a reader would copy', () => {
    expect(docs.map((d) => d.file)).toEqual(expect.arrayContaining(['README.md', 'docs/runbook.md', 'docs/configuration.md']));
    // Far below today's counts: a parser that broke and saw nothing fails here, not silently.
    expect(counts.makeMentions).toBeGreaterThan(80);
    expect(counts.links).toBeGreaterThan(40);
    expect(counts.paths).toBeGreaterThan(30);
    expect(counts.scripts).toBeGreaterThan(3);
  });

  it('(a) every `make <target>` they show is a target of the Makefile', () => {
    expect(where(/^"make /)).toEqual([]);
  });

  it('(b) every relative link resolves, and so does its #anchor', () => {
    expect(where(/^link /)).toEqual([]);
  });

  it('(c) every repository path they show exists', () => {
    expect(where(/no such file or directory in the repository$/)).toEqual([]);
  });

  it('(d) every `npm run` script is in package.json and every dist/….js has its source', () => {
    expect(where(/^"npm run |no source /)).toEqual([]);
  });

  it('nothing else is wrong', () => {
    expect(problems.map(format)).toEqual([]);
  });

  it('(e) every setting of .env.example is in the configuration tables, and every one there exists', () => {
    const schemas = ['watcher/config.ts', 'app/config.ts', 'ops/stack/settings.ts'].map((f) => read(f).text);
    const result = checkSettings(read('docs/configuration.md'), read('.env.example'), schemas);
    expect(result.documented.size).toBeGreaterThan(40);
    expect(result.problems.map(format)).toEqual([]);
  });

  it("the README's Makefile table lists every target of `make help`", () => {
    const readme = docs.find((d) => d.file === 'README.md')!.text;
    const section = /\n## Makefile targets\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const inTable = new Set(parse(section).code.flatMap((c) => [...c.text.matchAll(MAKE)].map((m) => m[2]!)));
    const { listed } = makeTargetsOf(read('Makefile').text);
    expect(listed.size).toBeGreaterThan(15);
    expect([...listed].filter((t) => !inTable.has(t))).toEqual([]);
  });

  it('the quick start needs nothing a fresh clone lacks, and the README names every target that needs Node', () => {
    const readme = docs.find((d) => d.file === 'README.md')!.text;
    const makefile = read('Makefile').text;
    // .env is not in git: the first `make up` makes it from .env.example.
    expect(makefile).toMatch(/^up: \$\(ENV_FILE\)/m);
    expect(makefile).toMatch(/^\$\(ENV_FILE\):\n\t@scripts\/new-env\.sh \$@$/m);
    expect(read('scripts/new-env.sh').text).toMatch(/ \.env\.example > /);
    expect(existsSync(path.join(ROOT, '.env.example'))).toBe(true);
    // Its commands use only what "What you need" lists.
    const quick = /\n## Quick start\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const commands = parse(quick).code.filter((c) => c.block).map((c) => withoutComment(c.text).trim()).filter(Boolean);
    expect(commands.length).toBeGreaterThan(5);
    expect(commands.filter((c) => !/^(make|curl)( |$)/.test(c))).toEqual([]);
    // Targets whose rule builds node_modules or the host-side CLI run Node on
    // the host (make up-monitoring runs make up); "What you need" names the others.
    const rules = makefile
      .split('\n')
      .map((line) => /^([a-z-]+):(?!=)(.*)$/.exec(line))
      .filter((m) => m !== null && m[2]!.includes('## '));
    const needNode = new Set(rules.filter((m) => /node_modules|\$\(CLI\)/.test(m![2]!)).map((m) => m![1]!));
    needNode.add('up-monitoring');
    expect([...needNode]).toEqual(expect.arrayContaining(['test', 'release', 'chaos', 'up']));
    const noNode = rules.map((m) => m![1]!).filter((t) => !needNode.has(t) && t !== 'help');
    const needs = /\*\*What you need:\*\*([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
    const without = /only ([\s\S]*?) run without Node/.exec(needs)?.[1] ?? '';
    const named = new Set([...without.matchAll(/`make\s+([a-z-]+)`/g)].map((m) => m[1]!));
    expect([...named].sort(), 'README "What you need" names exactly the targets that run without Node.js').toEqual(noNode.sort());
  });

  it('the runbook has a section for every anchor the alerts and monitoring/rules.yml link to', () => {
    const anchors = anchorsOf(read('docs/runbook.md').text);
    // watcher/notify/slackMessage.ts, by alert kind; `test` has none.
    for (const a of ['failover', 'outage', 'high-error-rate', 'planned-switch', 'maintenance', 'releases', 'watcher-restarted', 'watcher-problems']) {
      expect(anchors, `docs/runbook.md has no heading with the anchor #${a}`).toContain(a);
    }
    const rules = ['monitoring/rules.yml', 'monitoring/tests/rules.test.yml'].flatMap((f) =>
      [...read(f).text.matchAll(/runbook_url: "([^"]+)"/g)].map((m) => m[1]!),
    );
    expect(rules.length).toBeGreaterThan(5);
    for (const url of rules) {
      const [file, anchor] = url.split('#');
      expect(file).toBe('docs/runbook.md');
      expect(anchors, `${url}: no such heading`).toContain(anchor);
    }
  });
});

describe('the checks themselves', () => {
  const planted: Doc[] = [
    {
      file: 'README.md',
      text: [
        '# Title', // 1
        '', // 2
        '## Part one', // 3
        '', // 4
        'Make sure to run `make up`, then `make no-such-target`.', // 5
        '', // 6
        '```sh', // 7
        'make ENV_FILE=x down   # make sure-not-a-command', // 8
        'make bogus', // 9
        '```', // 10
        '', // 11
        '[ok](#part-one) [bad](#nowhere) [gone](docs/missing.md) [wrong anchor](docs/a.md#no-such)', // 12
        '[fine](docs/a.md#heading-with-code) [second](docs/a.md#heading-with-code-1) [out](../x.md) [web](https://example.com/x)', // 13
        'See `watcher/config.ts` and `watcher/nope.ts`, `npm run test` and `npm run nope`,', // 14
        '`node dist/watcher/config.js` and `node dist/watcher/nope.js`; `/var/log/x.log`, `dist/x/y.js`.', // 15
        'A [link that wraps', // 16
        'lines](docs/a.md#missing-too) and a span that `make', // 17
        'wrapped` too.', // 18
      ].join('\n'),
    },
    { file: 'docs/a.md', text: '# Heading with `code`\n\n## Heading with code\n\n```sh\n# not a heading\n```\n[back](../README.md#part-one)\n' },
  ];
  const files = new Set(['README.md', 'docs/a.md', 'docs', 'watcher', 'watcher/config.ts']);
  const fake: Repo = {
    makeTargets: new Set(['up', 'down']),
    npmScripts: new Set(['test']),
    topDirs: new Set(['watcher', 'docs']),
    exists: (rel) => files.has(rel),
    read: (rel) => planted.find((d) => d.file === rel)?.text,
  };
  const { problems, counts } = checkDocs(planted, fake);
  const found = problems.map(format);

  it('finds each planted mistake, with its file and line', () => {
    expect(found).toEqual(
      expect.arrayContaining([
        'README.md:5: "make no-such-target": no such target in the Makefile',
        'README.md:9: "make bogus": no such target in the Makefile',
        'README.md:12: link "#nowhere": no heading in README.md has the anchor #nowhere',
        'README.md:12: link "docs/missing.md": docs/missing.md does not exist',
        'README.md:12: link "docs/a.md#no-such": no heading in docs/a.md has the anchor #no-such',
        'README.md:13: link "../x.md" leaves the repository',
        'README.md:14: "watcher/nope.ts": no such file or directory in the repository',
        'README.md:14: "npm run nope": no such script in package.json',
        'README.md:15: "dist/watcher/nope.js": no source watcher/nope.ts to build it from',
        'README.md:15: "dist/x/y.js": no source x/y.ts to build it from',
        'README.md:16: link "docs/a.md#missing-too": no heading in docs/a.md has the anchor #missing-too',
        'README.md:17: "make wrapped": no such target in the Makefile',
      ]),
    );
  });

  it('and nothing else: prose, comments, good links, URLs and container paths pass', () => {
    expect(found).toHaveLength(12);
    expect(found.join('\n')).not.toMatch(/sure|"make up"|"make down"|#part-one|heading-with-code|example\.com|\/var\/log|config\.(ts|js)"/);
    expect(counts).toEqual({ makeMentions: 5, links: 9, paths: 2, scripts: 5 });
  });

  it('slugs headings as GitHub does', () => {
    expect(githubSlug('Prometheus (profile `monitoring`)')).toBe('prometheus-profile-monitoring');
    expect(githubSlug("Heartbeat (dead-man's switch)")).toBe('heartbeat-dead-mans-switch');
    expect(githubSlug('`config error:` lines')).toBe('config-error-lines');
    expect(githubSlug('`/stats`')).toBe('stats');
    expect(githubSlug('`ALERT_COOLDOWN_SEC` and [a link](x.md)')).toBe('alert_cooldown_sec-and-a-link');
    expect([...anchorsOf('# A\n## A\n```\n# A\n```\n### A\n')]).toEqual(['a', 'a-1', 'a-2']);
  });

  it('finds a setting missing from the tables, and one that exists nowhere', () => {
    const config: Doc = {
      file: 'docs/configuration.md',
      text: '| variable | default |\n|---|---|\n| `A` / `B` | 1 |\n| `IN_SCHEMA` | 2 |\n| `GHOST` | 3 |\n\n| endpoint | answer |\n|---|---|\n| `NOT_A_SETTING` | x |\n',
    };
    const env: Doc = { file: '.env.example', text: '# A=commented\nA=1\nB=\nMISSING=2\n' };
    const { problems: p } = checkSettings(config, env, ['schema: IN_SCHEMA']);
    expect(p.map(format)).toEqual([
      '.env.example:4: MISSING is not in the settings tables of docs/configuration.md',
      'docs/configuration.md:5: GHOST is in no config schema and not in .env.example',
    ]);
  });

  it('reads the Makefile rules, several targets on one line included', () => {
    const { all, listed } = makeTargetsOf('help: ## list\n$(ENV_FILE):\nchaos chaos-stop: export X := 1\nchaos: $(ENV_FILE) ## break\nctl = $(COMPOSE) exec\nnode_modules: package.json\n');
    expect([...all].sort()).toEqual(['chaos', 'chaos-stop', 'help']);
    expect([...listed].sort()).toEqual(['chaos', 'help']);
  });
});
