// Cooldown of one alert kind: after a delivered alert, the same kind waits
// `ms` before it may be sent again, and the ones that arrive meanwhile are
// counted so the next message can say how many were held back.

export class Cooldown {
  private lastDeliveredAt: number | undefined;
  // One in flight at a time: a slow Slack must not let a burst through before
  // the first delivery starts the cooldown.
  private pending = false;
  private held = 0;

  constructor(private readonly ms: number) {}

  /** Starts a send and returns how many were held since the last delivery; undefined means hold this one. */
  trySend(now: number): number | undefined {
    if (this.pending || this.cooling(now)) {
      this.held++;
      return undefined;
    }
    this.pending = true;
    return this.held;
  }

  /** `reported` is the heldBack the delivered alert carried; holds made while it was in flight stay counted. */
  delivered(now: number, reported: number): void {
    this.pending = false;
    this.lastDeliveredAt = now;
    this.held = Math.max(0, this.held - reported);
  }

  /** Nothing reached Slack, so nobody saw the count and no cooldown starts. */
  failed(): void {
    this.pending = false;
  }

  private cooling(now: number): boolean {
    if (this.lastDeliveredAt === undefined) return false;
    const elapsed = now - this.lastDeliveredAt;
    // A wall clock stepped backwards must not silence a kind for the size of the step.
    return elapsed >= 0 && elapsed < this.ms;
  }
}
