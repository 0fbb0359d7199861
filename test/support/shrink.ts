// Shrinking for the simulations' schedules (test/watcher/core/*.sim.test.ts):
// a failing schedule made smaller one change at a time (drop a segment, or
// take one of the variants the caller offers for it: shorter, a fault
// turned off), each kept when it still fails, until no change does. Greedy,
// like QuickCheck's shrinking: a local minimum, small enough to read.

export async function shrink<Seg, S extends { segments: Seg[] }>(
  s: S,
  fails: (s: S) => Promise<boolean>,
  variants: (seg: Seg) => Seg[],
): Promise<S> {
  const smaller = (b: S): S[] =>
    b.segments.flatMap((seg, i) => {
      const withSeg = (next: Seg | undefined): S => ({ ...b, segments: b.segments.flatMap((g, j) => (j !== i ? [g] : next === undefined ? [] : [next])) });
      return [withSeg(undefined), ...variants(seg).map(withSeg)];
    });
  let best = s;
  for (;;) {
    let next: S | undefined;
    for (const candidate of smaller(best)) {
      if (await fails(candidate)) {
        next = candidate;
        break;
      }
    }
    if (next === undefined) return best;
    best = next;
  }
}
