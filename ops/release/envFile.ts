// The release tool records each pool's image and release id in the env file,
// as `make switch` records ACTIVE_POOL: a new container (`make up`) starts
// from it. Other lines, comments included, are kept as they are.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export function setEnvValues(file: string, values: Record<string, string>): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [key, value] of Object.entries(values)) {
    const line = `${key}=${value}`;
    const at = lines.findLastIndex((l) => l.startsWith(`${key}=`));
    if (at >= 0) lines[at] = line;
    else lines.push(line);
  }
  // Replaced by rename: a crash never leaves half an env file.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, file);
}
