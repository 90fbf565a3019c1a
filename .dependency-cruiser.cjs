/**
 * The layer rules of src/ (docs/architecture.md draws the stack), checked by dependency-cruiser:
 * `npm run check:layers`, run by .ci/run.
 *
 * Layers, bottom up. A file may import only from its own layer or one below it, never upward, so
 * no two folders can depend on each other in a cycle (the two folders sharing a rank, mvcc and
 * lock, get an explicit one-way rule). `lob` and `ibuf` are drawn now so the layers land in their
 * place: the LOB layer under the row layer's clustered-record writes, the change buffer under its
 * secondary-index writes (src/row/index-write.ts). Above the API: `ops` (backup restore, verify,
 * export, import, salvage, the inspector) and `cli` (the `minno` command line, the one place
 * besides the VFS that talks to the OS: files, stdin/stdout, child processes).
 */
const LAYERS = [
  { name: 'util', paths: ['^src/util/', '^src/errors\\.ts$'] },
  { name: 'vfs', paths: ['^src/vfs/'] },
  { name: 'page', paths: ['^src/page/'] },
  { name: 'buffer', paths: ['^src/buffer/'] },
  { name: 'redo', paths: ['^src/redo/'] },
  { name: 'core', paths: ['^src/core/'] },
  { name: 'undo', paths: ['^src/undo/'] },
  { name: 'mvcc', paths: ['^src/mvcc/', '^src/lock/'] },
  { name: 'rec', paths: ['^src/rec/'] },
  { name: 'btree', paths: ['^src/btree/'] },
  { name: 'dict', paths: ['^src/dict/'] },
  { name: 'lob', paths: ['^src/lob/'] },
  { name: 'ibuf', paths: ['^src/ibuf/'] },
  { name: 'row', paths: ['^src/row/'] },
  { name: 'api', paths: ['^src/api/'] },
  { name: 'ops', paths: ['^src/ops/'] },
  { name: 'entry', paths: ['^src/index\\.ts$'] },
  { name: 'cli', paths: ['^src/cli/'] },
];

const either = (paths) => `(${paths.join('|')})`;

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} may import only from itself and the layers below it (${LAYERS.slice(0, i).map((l) => l.name).join(', ') || 'none'})`,
  severity: 'error',
  from: { path: either(layer.paths) },
  to: { path: either(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-lock-to-mvcc',
      comment: 'the lock manager sits beside the transaction system and knows nothing of it (mvcc/trx.ts implements LockOwner)',
      severity: 'error',
      from: { path: '^src/lock/' },
      to: { path: '^src/mvcc/' },
    },
    {
      name: 'only-vfs-touches-the-os',
      comment: 'the VFS is the only door to the OS (src/api/database.ts: until issue 11 moves its mkdirSync behind the VFS)',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/vfs/', '^src/api/database\\.ts$', '^src/cli/'] },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|path|os|child_process|worker_threads|net|dgram)$' },
    },
    {
      name: 'no-src-to-tests',
      comment: 'the engine never imports tests, benchmarks, scripts or the simulator',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|sim|examples)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a type that runs up the stack couples the layers.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
