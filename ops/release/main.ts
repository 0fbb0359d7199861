// The release tool, run by `make release` and `make rollback` on the host:
//   node dist/ops/release/main.js release --release <id> [--image <ref>] [--pool <idle pool>]
//   node dist/ops/release/main.js rollback [--force] [--reason <text>]
// Exit 0: promoted (or rolled back by hand). 1: blocked, rolled back
// automatically, or refused. 2: bad usage or settings. 130: interrupted.
import { parseArgs } from 'node:util';
import { poolName } from '../../common/config.js';
import { releaseId } from '../../watcher/history.js';
import { imageRef, stackSettingsOrExit } from '../stack/index.js';
import { acquireLock, lockPath, lockRefusal } from './lock.js';
import { release, rollback } from './release.js';
import { Refusal, whoAmI, type Context } from './steps.js';

const USAGE = `usage:
  make release RELEASE=<id> [IMAGE=<ref>] [POOL=<idle pool>]
  make rollback [FORCE=1] [REASON="<why>"]`;

/** Bad usage; `showUsage` only when the command itself is wrong, so a bad value is one line. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

const [command, ...args] = process.argv.slice(2);
const program = command === 'rollback' ? 'rollback' : 'release';
const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);

let exitCode: number;
try {
  exitCode = await main();
} catch (err) {
  if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    const usage = !(err instanceof UsageError) || err.showUsage;
    console.error(`${program}: ${(err as Error).message}${usage ? `\n${USAGE}` : ''}`);
    exitCode = 2;
  } else if (err instanceof Refusal) {
    console.error(`${program}: ${err.message}`);
    exitCode = 1;
  } else {
    console.error(`${program}: unexpected error: ${(err as Error).stack ?? String(err)}`);
    exitCode = 1;
  }
}
process.exit(exitCode);

async function main(): Promise<number> {
  const request = parseRequest();
  const s = stackSettingsOrExit(program);
  const lock = acquireLock(lockPath(s.ENV_FILE), program);
  if (!lock.ok) throw new Refusal(lockRefusal(lockPath(s.ENV_FILE), lock, Date.now()));
  // First Ctrl-C: stop the current step and leave traffic on a pool that was
  // healthy when the release began. A second one: leave at once.
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) {
      console.error(`${program}: interrupted again; leaving now. Check the serving pool with make status.`);
      lock.release();
      process.exit(130);
    }
    console.error(`${program}: interrupted; finishing safely (Ctrl-C again to leave at once)`);
    interrupt.abort();
  });
  process.on('SIGTERM', () => interrupt.abort());
  const ctx: Context = { s, signal: interrupt.signal, who: whoAmI(), log };
  try {
    if (request.kind === 'rollback') {
      await rollback(ctx, request);
      return 0;
    }
    const figures = await release(ctx, request);
    if (figures.outcome === 'promoted') return 0;
    console.error(`${program}: ${figures.release} ${figures.outcome.replace('_', ' ')}: ${figures.reason ?? ''}`);
    return figures.outcome === 'interrupted' ? 130 : 1;
  } finally {
    lock.release();
  }
}

type Request = { kind: 'release'; release: string; image?: string; pool?: 'blue' | 'green' } | { kind: 'rollback'; force: boolean; reason?: string };

function parseRequest(): Request {
  if (command === 'release') {
    const { values } = parseArgs({
      args,
      strict: true,
      options: { release: { type: 'string' }, image: { type: 'string' }, pool: { type: 'string' } },
    });
    const id = releaseId.safeParse(values.release ?? '');
    if (!id.success) {
      throw new UsageError(`RELEASE: ${id.error.issues[0]?.message ?? 'invalid'} (got "${values.release ?? ''}")`);
    }
    const request: Request = { kind: 'release', release: id.data };
    if (values.image !== undefined && values.image !== '') {
      const image = imageRef.safeParse(values.image);
      if (!image.success) throw new UsageError(`IMAGE: ${image.error.issues[0]?.message ?? 'invalid'} (got "${values.image}")`);
      request.image = image.data;
    }
    if (values.pool !== undefined && values.pool !== '') {
      const pool = poolName.safeParse(values.pool);
      if (!pool.success) throw new UsageError(`POOL: expected "blue" or "green" (got "${values.pool}")`);
      request.pool = pool.data;
    }
    return request;
  }
  if (command === 'rollback') {
    const { values } = parseArgs({ args, strict: true, options: { force: { type: 'boolean' }, reason: { type: 'string' } } });
    const reason = values.reason?.trim();
    if (reason !== undefined && (reason.length > 200 || /[^\x20-\x7e]/.test(reason))) {
      throw new UsageError('REASON: expected up to 200 printable characters');
    }
    return { kind: 'rollback', force: values.force === true, ...(reason ? { reason } : {}) };
  }
  throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`, true);
}
