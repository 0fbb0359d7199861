// The one .env syntax, as scripts/check-env.sh (which make runs) applies it:
// KEY=VALUE, one per line, the value bare (no quotes, whitespace or `#`); a
// `#` starts a comment only at the start of a line. Make, Compose, dotenv
// and the containers each read quotes, inline comments and spaces their own
// way, so such a line is refused rather than read one way here and another
// there. One problem per line, naming the key, never the value.
// test/ops/envSyntax.test.ts runs the same lines through both.

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envSyntaxProblems(text: string, file: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) return;
    const at = `${file}:${i + 1}`;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (eq < 0 || !KEY.test(key)) return void problems.push(`${at}: expected KEY=VALUE (no spaces around =, no 'export')`);
    const value = line.slice(eq + 1);
    if (/["'`]/.test(value)) problems.push(`${at}: ${key}: quotes are read differently by Make, Compose and the tools: write the value bare`);
    else if (/\s/.test(value)) problems.push(`${at}: ${key}: whitespace in a value is read differently by Make, Compose and the tools`);
    else if (value.includes('#')) problems.push(`${at}: ${key}: '#' in a value starts a comment for some readers and not others`);
  });
  return problems;
}
