// The one host-side CLI: every `make` target that drives the stack is one
// line calling it (docs/operations.md lists them):
//   node dist/ops/cli/main.js <command> [NAME=VALUE...]
// NAME=VALUE words are a command's arguments (MODE, POOL, …) or settings,
// which win over the environment, ENV_FILE and .env.example; make hands its
// command line's arguments over as ARG_<NAME> in the environment. Secrets
// (CHAOS_TOKEN) come from the env file or the environment, never from here.
// Exit 0: done. 1: refused or failed, saying why in one line. 2: bad usage or
// settings. 130 / 143: interrupted.
import { stackSettingsOrExit } from '../stack/index.js';
import { Refusal } from '../release/refusal.js';
import { parseCommandLine, UsageError } from './args.js';
import { commands, whoAmI } from './commands.js';

const USAGE = `usage: node dist/ops/cli/main.js <command> [NAME=VALUE...]
commands: ${Object.keys(commands).join(', ')} (maintenance takes on or off)`;

const argv = process.argv.slice(2);
let program = argv[0] ?? 'ops';
let exitCode: number;
try {
  // maintenance on|off: the one command with a bare word.
  const words = argv[0] === 'maintenance' ? [argv[0], ...argv.slice(2)] : argv;
  const rest = argv[0] === 'maintenance' ? argv.slice(1, 2) : [];
  const line = parseCommandLine(words, process.env);
  const run = line.command === undefined ? undefined : commands[line.command];
  if (run === undefined) throw new UsageError(line.command === undefined ? 'missing command' : `unknown command "${line.command}"`, true);
  program = line.command as string;
  if (line.settings.CHAOS_TOKEN !== undefined) throw new UsageError('CHAOS_TOKEN is a secret: set it in the env file or the environment, never on a command line');
  const s = stackSettingsOrExit(program, line.settings);
  exitCode = await run({ s, args: line.args, who: whoAmI() }, rest);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(`${prefixed(err.message)}${err.showUsage ? `\n${USAGE}` : ''}`);
    exitCode = 2;
  } else if (err instanceof Refusal) {
    console.error(prefixed(err.message));
    exitCode = 1;
  } else {
    console.error(`${program}: unexpected error: ${(err as Error).stack ?? String(err)}`);
    exitCode = 1;
  }
}
process.exit(exitCode);

/** One line, naming the command once. */
function prefixed(message: string): string {
  return message.startsWith(`${program}: `) ? message : `${program}: ${message}`;
}
