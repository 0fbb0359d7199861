// The lint configuration enforces the architecture: a stage that imports a
// later one and a cycle each fail, naming the file and the rule; and
// docs/architecture.md draws the rooms in the order architecture.js declares.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Plain JavaScript, as eslint.config.js needs it: typed here by hand.
const ARCHITECTURE: string = '../../architecture.js';
const { ROOMS, STAGES, SURFACE, WATCHER_LEAF } = (await import(ARCHITECTURE)) as {
  ROOMS: Record<string, string[]>;
  STAGES: string[];
  SURFACE: string[];
  WATCHER_LEAF: string[];
};

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** The problems ESLint reports for `code` as if it were the file `file`. */
async function lint(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return { file: path.relative(root, result!.filePath), problems: result!.messages.map((m) => ({ rule: m.ruleId, message: m.message })) };
}

describe('the lint rules', () => {
  it('refuse a stage that imports a later stage, naming the file and the rule', async () => {
    const code = "import { NotifyPolicy } from '../policy/index.js';\nexport const planted = NotifyPolicy;\n";
    const { file, problems } = await lint('watcher/detect/planted.ts', code);
    expect(file).toBe('watcher/detect/planted.ts');
    expect(problems).toContainEqual({ rule: 'import-x/no-restricted-paths', message: expect.stringMatching(/watcher\/detect is stage 3 of source → parse → detect/) });
  }, 60_000);

  it('refuse the pipeline importing the operator surface, and a surface room importing the wiring', async () => {
    const stage = await lint('watcher/policy/planted.ts', "export { WatcherStats } from '../operator/stats.js';\n");
    expect(stage.problems.map((p) => p.rule)).toContain('import-x/no-restricted-paths');
    const page = await lint('watcher/page/planted.ts', "export { createPipeline } from '../pipeline.js';\n");
    expect(page.problems.map((p) => p.rule)).toContain('import-x/no-restricted-paths');
  }, 60_000);

  it('refuse app/ importing the watcher and bench/ importing test/', async () => {
    const app = await lint('app/planted.ts', "export { INCIDENT_KINDS } from '../watcher/vocabulary.js';\n");
    expect(app.problems).toContainEqual({ rule: 'import-x/no-restricted-paths', message: expect.stringContaining('app/ may import only common') });
    const bench = await lint('bench/planted.ts', "export { POLL_MS } from '../test/watcher/integration/harness.js';\n");
    expect(bench.problems.map((p) => p.rule)).toContain('import-x/no-restricted-paths');
  }, 60_000);

  it('refuse a cycle: a module importing one that imports it', async () => {
    // slackMessage.ts imports wording.ts (checked here, so that a refactor
    // that removes the import fails with this line and not a silent pass).
    const slackMessage = readFileSync(path.join(root, 'watcher/notify/slackMessage.ts'), 'utf8');
    expect(slackMessage).toMatch(/import \{[^}]*\bduration\b[^}]*\} from '\.\/wording\.js'/);
    const wording = readFileSync(path.join(root, 'watcher/notify/wording.ts'), 'utf8');
    const { file, problems } = await lint('watcher/notify/wording.ts', `${wording}\nimport { formatSlackMessage as planted } from './slackMessage.js';\nexport { planted };\n`);
    expect(file).toBe('watcher/notify/wording.ts');
    expect(problems.map((p) => p.rule)).toContain('import-x/no-cycle');
  }, 60_000);

  it('pass the file as it is', async () => {
    const wording = readFileSync(path.join(root, 'watcher/notify/wording.ts'), 'utf8');
    expect((await lint('watcher/notify/wording.ts', wording)).problems).toEqual([]);
  }, 60_000);
});

describe('docs/architecture.md', () => {
  const doc = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');
  it('draws the stages and the operator surface in the order architecture.js declares them', () => {
    expect(doc, 'the data flow line of docs/architecture.md').toContain(STAGES.join(' → '));
    expect(doc, 'the operator surface line of docs/architecture.md').toContain(SURFACE.join(' → '));
  });
  it('names every file of the shared leaf', () => {
    for (const file of WATCHER_LEAF) expect(doc, `leaf ${file} in docs/architecture.md`).toContain(`\`${path.basename(file)}\``);
  });
  it('names every top-level room', () => {
    for (const room of Object.keys(ROOMS)) expect(doc, `room ${room}/ in docs/architecture.md`).toContain(`\`${room}/\``);
  });
});
