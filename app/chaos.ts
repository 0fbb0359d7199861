// Fault injection for failover drills, and who may switch it. No I/O here:
// the random source and the hold's timers are injected so a `rate` and a hold
// can be tested deterministically; chaosHttp.ts applies them to requests.
import { createHash, timingSafeEqual } from 'node:crypto';

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

// Probes and the chaos switch must keep working while chaos is on, or a drill
// could not be observed or ended.
export const chaosExempt = (path: string): boolean =>
  path === '/healthz' || path === '/readyz' || path.startsWith('/chaos/');

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

export const RELEASED_BY_SHUTDOWN = 'released early, pool shutting down';

export interface Timers {
  set(fire: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

const realTimers: Timers = {
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Requests held by `timeout` chaos, each answered exactly once. */
export class HeldRequests {
  readonly #release = new Set<(reason: string) => void>();

  constructor(
    private readonly holdMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  get size(): number {
    return this.#release.size;
  }

  /**
   * Holds one request: `answer` gets the reason after holdMs, or at
   * releaseAll(). Returns `forget`, for a client that leaves first: its timer
   * must not outlive it.
   */
  hold(answer: (reason: string) => void): () => void {
    const forget = (): void => {
      this.timers.clear(timer);
      this.#release.delete(release);
    };
    const release = (reason: string): void => {
      forget();
      answer(reason);
    };
    const timer = this.timers.set(() => release(`held for ${this.holdMs} ms`), this.holdMs);
    this.#release.add(release);
    return forget;
  }

  /** A stopping pool answers its held requests at once rather than after holdMs. */
  releaseAll(): void {
    for (const release of this.#release) release(RELEASED_BY_SHUTDOWN);
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when `authorization` (the raw header) carries `token` as a bearer token.
 * Both sides are hashed first, so the comparison takes the same time whatever
 * the length or the first differing byte of the guess.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = BEARER.exec(authorization ?? '')?.[1];
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}
