/** A reason to stop that is not a bug: printed as one line, exit 1. */
export class Refusal extends Error {}
