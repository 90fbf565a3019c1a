/**
 * A mistake on a bench command line: the command prints its message (no stack trace) and exits
 * with status 2.
 */
export class UsageError extends Error {}
