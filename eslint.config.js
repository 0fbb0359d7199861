// Lint: typescript-eslint's recommended rules, and the architecture
// (architecture.js) as import-x/no-restricted-paths zones plus no-cycle.
// import-x over eslint-plugin-boundaries or dependency-cruiser: one plugin
// gives both the zones and the cycle check, inside the ESLint run `make
// check` already makes, resolving our `.js` specifiers to the `.ts` sources
// through the TypeScript resolver.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { ROOMS, STAGES, SURFACE, WATCHER_LEAF, WIRING } from './architecture.js';

const dir = (room) => `./${room}/**`;
const stageDirs = (names) => names.map((s) => dir(`watcher/${s}`));
// A brace glob of files: a zone's `from` may not mix globs and plain paths.
const files = (list) => `./{${list.join(',')}}`;
const wiring = files(WIRING);
const notLeaf = [...stageDirs([...STAGES, ...SURFACE]), wiring];

/** The zones: for each target, the paths it must not import, and why. */
function zones() {
  const out = [];
  STAGES.forEach((stage, i) => {
    const later = STAGES.slice(i + 1);
    out.push({
      target: dir(`watcher/${stage}`),
      from: [...stageDirs([...later, ...SURFACE]), wiring],
      message: `watcher/${stage} is stage ${i + 1} of ${STAGES.join(' → ')}: it may import the stages before it and the shared leaf, never ${[...later, ...SURFACE].join(', ')} or the wiring (architecture.js)`,
    });
  });
  SURFACE.forEach((room, i) => {
    const later = SURFACE.slice(i + 1);
    out.push({
      target: dir(`watcher/${room}`),
      from: [...stageDirs(later), wiring],
      message: `watcher/${room} is part of the operator surface (${SURFACE.join(' → ')}): it reads the stages' views and may not import ${[...later, 'the wiring'].join(', ')} (architecture.js)`,
    });
  });
  out.push({
    target: files(WATCHER_LEAF),
    from: notLeaf,
    message: 'the watcher’s shared leaf (types, vocabulary, schemas) imports only itself and common/ (architecture.js)',
  });
  const tops = Object.keys(ROOMS);
  for (const [room, allowed] of Object.entries(ROOMS)) {
    const banned = tops.filter((t) => t !== room && !allowed.includes(t) && !allowed.includes(`${t} leaf`));
    const from = banned.map(dir);
    if (allowed.includes('watcher leaf')) from.push(...notLeaf);
    if (from.length > 0) {
      out.push({
        target: dir(room),
        from,
        message: `${room}/ may import only ${[...allowed, 'itself'].join(', ')} (architecture.js)`,
      });
    }
  }
  return out;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'watcher/page/static/**', 'deploy/**', '**/*.js', '!eslint.config.js', '!architecture.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // How import-x parses the modules it follows (for no-cycle): as TypeScript.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // `_` marks a value left out on purpose (a destructured field dropped).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A `let` read by a callback set up before its one assignment is not a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'import-x/no-restricted-paths': ['error', { zones: zones() }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // Tests read YAML, JSON and saved state of any shape on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
