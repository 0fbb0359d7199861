// Conditions with a lifetime: each opens at its first failure and resolves
// only after the service has been steady for a hold time, never on the first
// good request. Without the hold, a pool failing one request in five reads as
// "failover, recovered" every few seconds, and the all-clear is a lie within
// seconds of being sent.
import type { Level } from '../vocabulary.js';

/** What a restart must keep of a condition; times are epoch ms from the injected clock. */
export interface HeldState {
  active: boolean;
  /** When it last opened (active) or resolved (inactive); 0 before it ever opened. */
  since: number;
  /** Failures seen while it was open, over its whole life: the policy reports the difference. */
  failures: number;
  /** The first good request after the last failure, while open. */
  steadySince?: number | undefined;
}

/**
 * Open at the first failure, resolved after `holdMs` without one once the
 * service is seen answering again. With no traffic it stays open: silence is
 * not evidence of health.
 */
export class HeldCondition {
  protected state: HeldState;

  constructor(
    protected readonly holdMs: number,
    restore?: HeldState,
  ) {
    this.state = restore === undefined ? { active: false, since: 0, failures: 0 } : { ...restore };
  }

  get active(): boolean {
    return this.state.active;
  }

  /** Steady service needed before it resolves. */
  get hold(): number {
    return this.holdMs;
  }

  get since(): number {
    return this.state.since;
  }

  get failures(): number {
    return this.state.failures;
  }

  /** How long the service has been steady, while open and recovering. */
  steadyFor(now: number): number | undefined {
    const steady = this.state.steadySince;
    return this.state.active && steady !== undefined ? Math.max(0, now - steady) : undefined;
  }

  /** Whether the hold is running: open, and the service answering since steadySince. */
  get recovering(): boolean {
    return this.state.active && this.state.steadySince !== undefined;
  }

  /** A failure; true when this opened it. */
  fail(now: number): boolean {
    this.state.failures++;
    return this.interrupt(now);
  }

  /** A failure that belongs to another condition's incident: counted, and it stops the hold, but opens nothing. */
  count(): void {
    this.state.failures++;
    this.state.steadySince = undefined;
  }

  /** Evidence that the service is not answering, without a failure to count (the backup took over); true when this opened it. */
  interrupt(now: number): boolean {
    const s = this.state;
    s.steadySince = undefined;
    if (s.active) return false;
    this.state = { active: true, since: now, failures: s.failures };
    return true;
  }

  /** A request the service answered; starts the hold if one is not running. */
  served(now: number): void {
    if (this.state.active && this.state.steadySince === undefined) this.state.steadySince = now;
  }

  /** True when the hold ran out now and the condition resolved. */
  tick(now: number): boolean {
    const steady = this.state.steadySince;
    if (!this.state.active || steady === undefined || now - steady < this.holdMs) return false;
    this.resolve(now);
    return true;
  }

  /** Ends it without a hold: what it was about no longer applies (see FailoverCondition). */
  resolve(now: number): void {
    this.state = { active: false, since: now, failures: this.state.failures };
  }

  /** `failingLevel` while open and not recovering. */
  level(failingLevel: Level): Level {
    if (!this.state.active) return 'ok';
    return this.state.steadySince === undefined ? failingLevel : 'recovering';
  }

  snapshot(): HeldState {
    return { ...this.state };
  }
}

/**
 * Flapping, after Nagios: a primary that fails again soon after each return
 * changes the serving pool over and over. FLAP_FLIPS changes within
 * FLAP_WINDOW_MS (three round trips in ten minutes) is past what one bad
 * deploy or one restart causes, and well under what an intermittent failure
 * gives: at 20 requests/s a pool failing 10% of its requests flips about 20
 * times a minute, since Nginx takes it out for fail_timeout (5 s) each time.
 */
export const FLAP_FLIPS = 6;
export const FLAP_WINDOW_MS = 10 * 60_000;
/** Change times kept for the count a message shows: a flapping pool at 20 requests/s changes about 200 times in FLAP_WINDOW_MS. */
export const FLIPS_KEPT = 256;

/**
 * failover, degraded: the failing pool's attempts since the incident opened,
 * kept while it is open so a restart goes on counting. Absent in a state
 * saved before it was kept, and then unknown until the next incident opens.
 */
export interface SinceOpenState {
  sinceOpen?: { attempts: number; failed: number } | undefined;
}

export interface FailoverState extends HeldState, SinceOpenState {
  /** Changes of the serving pool while open, over the condition's whole life. */
  flips: number;
  /** Times of the last FLIPS_KEPT changes of this incident, oldest first. */
  recentFlips: number[];
}

/** The primary pool failing, with the backup serving; counts the changes of serving pool while open. */
export class FailoverCondition extends HeldCondition {
  private flips: number;
  private readonly recentFlips: number[];

  constructor(holdMs: number, restore?: FailoverState) {
    super(holdMs, restore);
    this.flips = restore?.flips ?? 0;
    this.recentFlips = [...(restore?.recentFlips ?? [])].slice(-FLIPS_KEPT);
  }

  /** A new incident starts its flapping count afresh: an old incident's changes say nothing about this one. */
  override interrupt(now: number): boolean {
    const opened = super.interrupt(now);
    if (opened) this.recentFlips.length = 0;
    return opened;
  }

  /** The serving pool changed while open (or by opening it). */
  flipped(now: number): void {
    this.flips++;
    this.recentFlips.push(now);
    if (this.recentFlips.length > FLIPS_KEPT) this.recentFlips.shift();
  }

  get totalFlips(): number {
    return this.flips;
  }

  /** Changes of serving pool within FLAP_WINDOW_MS of `now`. */
  flipsRecently(now: number): number {
    // Counted, not filtered: a flapping pool keeps FLIPS_KEPT times, read at every view.
    let n = 0;
    for (const at of this.recentFlips) if (now - at < FLAP_WINDOW_MS) n++;
    return n;
  }

  currentLevel(now: number): Level {
    return this.levelWith(this.flipsRecently(now));
  }

  /** currentLevel, given flipsRecently(now). */
  protected levelWith(recentFlips: number): Level {
    const level = this.level('failing');
    return level === 'failing' && recentFlips >= FLAP_FLIPS ? 'flapping' : level;
  }

  override snapshot(): FailoverState {
    return { ...super.snapshot(), flips: this.flips, recentFlips: [...this.recentFlips] };
  }
}

/**
 * Nginx's fail_timeout for a primary server (nginx/templates, tied by a
 * test): a failed replica sits out this long, the others serving, before a
 * live request probes it again. A degraded pool's hold is at least this plus
 * a second, or a replica still failing would look healthy while it sits out.
 */
export const NGINX_FAIL_TIMEOUT_MS = 5_000;
export const DEGRADED_MIN_HOLD_MS = NGINX_FAIL_TIMEOUT_MS + 1_000;

/** Failing replicas a degraded pool remembers: more say nothing a message could show. */
export const REPLICAS_KEPT = 8;
// What Nginx writes in upstream_addr for a server: an IPv4 or IPv6 address and
// port. Anything else (a unix socket, a name) is not named in a message.
const REPLICA_ADDR = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]{2,45}\]):\d{1,5}$/i;

export interface FailingReplica {
  addr: string;
  /** Failed attempts on it since the incident opened. */
  failures: number;
  /** Its last failed attempt, epoch ms. */
  lastAt: number;
}

export interface DegradedState extends HeldState, SinceOpenState {
  replicas: FailingReplica[];
}

/**
 * Some replicas of the primary pool failing while its others serve (Nginx
 * retried the request on another primary replica): a degraded pool, not a
 * failover. Remembers which replicas failed, by the address Nginx logs.
 */
export class DegradedCondition extends HeldCondition {
  private replicas: Map<string, FailingReplica>;

  constructor(holdMs: number, restore?: DegradedState) {
    super(Math.max(holdMs, DEGRADED_MIN_HOLD_MS), restore);
    this.replicas = new Map((restore?.replicas ?? []).map((r) => [r.addr, { ...r }]));
  }

  /** Failed attempts on `addrs` in one request; true when this opened it. */
  failOn(now: number, addrs: readonly (string | undefined)[]): boolean {
    const opened = this.fail(now);
    if (opened) this.replicas.clear();
    for (const raw of addrs) {
      const addr = raw !== undefined && REPLICA_ADDR.test(raw) ? raw : 'unknown';
      const known = this.replicas.get(addr);
      if (known !== undefined) {
        known.failures++;
        known.lastAt = now;
        continue;
      }
      if (this.replicas.size >= REPLICAS_KEPT) this.dropQuietest();
      this.replicas.set(addr, { addr, failures: 1, lastAt: now });
    }
    return opened;
  }

  /** The replicas that failed since it opened, most recent failure first. */
  failing(): FailingReplica[] {
    return [...this.replicas.values()].sort((a, b) => b.lastAt - a.lastAt).map((r) => ({ ...r }));
  }

  private dropQuietest(): void {
    const oldest = [...this.replicas.values()].reduce((a, b) => (a.lastAt <= b.lastAt ? a : b));
    this.replicas.delete(oldest.addr);
  }

  override snapshot(): DegradedState {
    return { ...super.snapshot(), replicas: this.failing() };
  }
}
