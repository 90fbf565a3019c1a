/**
 * How a child process started by `runInChild` (child.ts) hands back its result: one stdout line,
 * this prefix then JSON. Kept apart from child.ts so the child does not load the TypeScript
 * compiler that child.ts uses (it would count in the child's memory).
 */
export const RESULT_PREFIX = '@@minno-bench-result ';
