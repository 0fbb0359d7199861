// The drill's command line: `--rate N --seconds N --out FILE --no-release`,
// validated up front so a typo costs a line of output, not a half-run drill.
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const USAGE = `usage: make drill [ARGS="--rate 20 --seconds 5 --out bench/results/drill.json"]
  --rate N      requests per second during every phase (1-500, default 20)
  --seconds N   length of each phase in seconds (2-120, default 5); a recovery
                phase also runs until the pool serves again (Nginx retries it
                after fail_timeout, 5 s) and then through the watcher's
                RECOVERY_HOLD_SEC until the all-clear is decided
  --out FILE    where to write the figures (default bench/results/drill.json)
  --no-release  skip the release phases (a good release, a bad one rolled
                back, a rollback to the starting pool), which take about four
                ANALYSIS_SEC plus the deploys: for a stack whose pools do not
                run the drill's image, or a quick drill`;

const between = (min: number, max: number) => {
  const message = `expected a number from ${min} to ${max}`;
  return z.coerce.number({ message }).min(min, { message }).max(max, { message });
};

const optionsSchema = z.object({
  rate: between(1, 500).default(20),
  seconds: between(2, 120).default(5),
  out: z.string().min(1).optional(),
  release: z.boolean().default(true),
});

export type DrillOptions = z.output<typeof optionsSchema>;

export type ParsedArgs = { ok: true; options: DrillOptions } | { ok: false; problems: string[] } | { ok: 'help' };

export function parseDrillArgs(argv: readonly string[]): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      // --no-release sets release to false.
      allowNegative: true,
      options: {
        rate: { type: 'string' },
        seconds: { type: 'string' },
        out: { type: 'string' },
        release: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  if (values.help) return { ok: 'help' };
  const { help: _help, ...rest } = values;
  const parsed = optionsSchema.safeParse(rest);
  if (parsed.success) return { ok: true, options: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message} (got "${String(rest[String(i.path[0])])}")`),
  };
}
