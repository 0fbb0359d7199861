// Fault injection for failover drills. No I/O here: the random source is
// injected so a `rate` can be tested deterministically; server.ts applies it.

export const CHAOS_MODES = ['error', 'timeout'] as const;
export type ChaosMode = (typeof CHAOS_MODES)[number];

export interface ChaosSettings {
  readonly mode: ChaosMode;
  /** Share of requests affected, 0 < rate <= 1. */
  readonly rate: number;
}

/** Uniform in [0, 1), like Math.random. */
export type Random = () => number;

export type ChaosParams = { ok: true; settings: ChaosSettings } | { ok: false; error: string };

// Plain decimals only: Number() would also take "0x1", "1e0" or " 1 ".
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Reads `mode` and `rate` from a `/chaos/start` query string. */
export function parseChaosParams(query: URLSearchParams): ChaosParams {
  const mode = query.get('mode');
  if (!isChaosMode(mode)) {
    const got = mode === null ? 'missing' : `got "${mode}"`;
    return { ok: false, error: `mode must be one of: ${CHAOS_MODES.join(', ')} (${got})` };
  }
  const rawRate = query.get('rate');
  if (rawRate === null) return { ok: true, settings: { mode, rate: 1 } };
  const rate = DECIMAL.test(rawRate) ? Number(rawRate) : Number.NaN;
  if (!(rate > 0 && rate <= 1)) {
    return { ok: false, error: `rate must be a number with 0 < rate <= 1 (got "${rawRate}")` };
  }
  return { ok: true, settings: { mode, rate } };
}

function isChaosMode(value: string | null): value is ChaosMode {
  return (CHAOS_MODES as readonly (string | null)[]).includes(value);
}

export class Chaos {
  #settings: ChaosSettings | undefined;

  constructor(private readonly random: Random = Math.random) {}

  /** The active settings, or undefined when chaos is off. */
  get settings(): ChaosSettings | undefined {
    return this.#settings;
  }

  /** Activates chaos; a second call replaces the mode and rate. */
  start(settings: ChaosSettings): void {
    this.#settings = settings;
  }

  /** Turns chaos off and returns what was active, if anything. */
  stop(): ChaosSettings | undefined {
    const previous = this.#settings;
    this.#settings = undefined;
    return previous;
  }

  /** The fault to inject into one request, or undefined to serve it normally. */
  pick(): ChaosMode | undefined {
    const settings = this.#settings;
    if (!settings) return undefined;
    return this.random() < settings.rate ? settings.mode : undefined;
  }
}
