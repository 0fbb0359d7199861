/** A command line the operator got wrong: ctl prints it with the usage text and exits 2. */
export class UsageError extends Error {}

/** A wrong option value: the message names the option and what it takes, which the usage text would only bury. */
export class BadValueError extends UsageError {}
