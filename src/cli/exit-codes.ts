/**
 * The exit codes of `minno`, a closed set: scripts may rely on them (documented in the README).
 *
 * | code | name      | when                                                                      |
 * |------|-----------|---------------------------------------------------------------------------|
 * | 0    | OK        | the command did what it was asked                                         |
 * | 1    | DAMAGED   | it ran, and found damage: check/verify problems, salvage lost some rows   |
 * | 2    | USAGE     | bad arguments: unknown command or option, a missing or malformed value    |
 * | 3    | FAILED    | a minno error stopped it (the error's code is printed: ERR_NOT_FOUND, ERR_INCOMPLETE_BACKUP, ERR_IMPORT_LINE...) |
 * | 4    | INTERNAL  | an unexpected error: a bug in minno, please report it                    |
 *
 * `minno sim` and `minno bench` exit with the code of the tool they run.
 */
export const EXIT = {
  OK: 0,
  DAMAGED: 1,
  USAGE: 2,
  FAILED: 3,
  INTERNAL: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
