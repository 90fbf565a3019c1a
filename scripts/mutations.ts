/**
 * The named mutations of the mutation audit (`npm run audit:mutations`, scripts/audit-mutations.ts).
 *
 * Each one reverts one rule at one site, the way a lost fix or a careless refactor would, and
 * names the tests that must fail with it applied. A mutation is `find` (exact text, once in
 * `file`) replaced by `replace`. If the file has moved, the audit looks for the text anywhere in
 * `src/`. A test is `file` or `file > pattern`, where the pattern selects tests by name (vitest
 * `-t`, matched against "describe name test name").
 *
 * Adding a rule or a fix: add its mutation here, with the tests that guard it. A mutation that no
 * test can notice (it changes nothing observable) is listed with `equivalent` saying why, so the
 * audit reports it without failing.
 */

export interface Mutation {
  /** RULE-site: unique, stable (reports refer to it). */
  readonly name: string;
  /** The numbered rule or invariant it breaks. */
  readonly rule: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** The tests that must fail: `path` or `path > name pattern`. */
  readonly tests: readonly string[];
  /** Set when no test can fail: why the mutant is equivalent. */
  readonly equivalent?: string;
}

const CORE_CRASH = 'test/core/crash.test.ts';
const CORE_LOG = 'test/core/log-and-corruption.test.ts';
const GROUP_COMMIT = 'test/core/group-commit.test.ts';
const LOG_FORMAT = 'test/redo/log-format.test.ts';
const IBUF_CRASH = 'test/ibuf/crash.test.ts';
const ISOLATION_SCRIPTS = 'test/scripts/isolation.test.ts';
const GAP_INHERITANCE = `${ISOLATION_SCRIPTS} > gap-lock-inheritance`;
const SECONDARY_READS = `${ISOLATION_SCRIPTS} > serializable-secondary-reads`;
/** The seed stories (test/scripts/seeds/seed-NNN.golden): each fails when its fix is reverted. */
const SEEDS = 'test/scripts/seeds.test.ts';

export const MUTATIONS: readonly Mutation[] = [
  // ---------------------------------------------------------------------------------------- WAL
  {
    name: 'WAL-page-flush',
    rule: 'WAL (B3)',
    file: 'src/buffer/buffer-pool.ts',
    find: '        this.wal.flushLogUpTo(batch.newest); // B3, rule WAL',
    replace: '    // mutant: pages written without making their redo durable',
    tests: [`${CORE_CRASH} > every operation under every policy`],
  },
  {
    name: 'WAL-recovery-log-sync',
    rule: 'WAL, RC2 (issue 17 mutation 4)',
    file: 'src/redo/recovery.ts',
    find: "  logFile.file.datasync();\n  registry.vfs.syncDir('');",
    replace: "  registry.vfs.syncDir('');",
    tests: [`${CORE_CRASH} > after a kill -9`],
  },
  // --------------------------------------------------------------------------------- IDEMPOTENT
  {
    name: 'IDEMPOTENT-page-lsn',
    rule: 'IDEMPOTENT',
    file: 'src/redo/recovery.ts',
    find: '      if (groupEnd <= lsnBefore) continue; // rule IDEMPOTENT',
    replace: '      // mutant: every record applied, whatever the page LSN',
    tests: [`${CORE_CRASH} > after a kill -9`, `${CORE_CRASH} > IDEMPOTENT: a record older`],
  },
  {
    name: 'RC5-batch-applied-before-the-window-moves',
    rule: 'RC5, RC1',
    file: 'src/redo/recovery.ts',
    find: '        await options.endOfBatch?.();',
    replace: '        // mutant: the window moves on before its batch is applied',
    tests: [`${CORE_CRASH} > RC5`],
  },
  // ----------------------------------------------------------------------------- MTR, CHECKSUM
  {
    name: 'MTR-group-checksum',
    rule: 'MTR, CHECKSUM (log groups)',
    file: 'src/redo/redo-record.ts',
    find: '  if (checksum32(bytes.subarray(0, length - 4)) !== readU32(bytes, length - 4)) return GroupCheck.BadChecksum;',
    replace: '  // mutant: a group counts whatever its checksum',
    tests: [LOG_FORMAT, `${SEEDS} > seed-000`],
  },
  {
    name: 'CHECKSUM-checkpoint-slot',
    rule: 'CHECKSUM (issue 17 mutation 3)',
    file: 'src/redo/log-file.ts',
    find: '      if (checksum32(slot.subarray(0, 20)) !== readU32(slot, 20)) continue;',
    replace: '      // mutant: a checkpoint slot is trusted on its magic number alone',
    tests: [`${CORE_LOG} > checkpoint slots damaged`],
  },
  {
    name: 'CHECKSUM-page-read',
    rule: 'CHECKSUM (S1)',
    file: 'src/page/tablespace.ts',
    find: '    if (result !== PageCheck.Valid) {\n      throw new CorruptionError(this.path, pageNo, describePageCheck(result, target));',
    replace: '    if (false) {\n      throw new CorruptionError(this.path, pageNo, describePageCheck(result, target));',
    tests: [`${CORE_LOG} > bit flip in a tablespace page`, `${CORE_LOG} > read fault that corrupts`],
  },
  {
    name: 'CHECKSUM-page-checksum',
    rule: 'CHECKSUM, TORN (P1)',
    file: 'src/page/page.ts',
    find: '  if (checksum64(page.subarray(8)) !== storedChecksum(page)) return PageCheck.BadChecksum;',
    replace: '  // mutant: the page checksum is not compared',
    tests: [`${CORE_LOG} > bit flip in a tablespace page`, `${CORE_CRASH} > every operation under every policy`],
  },
  {
    name: 'CHECKSUM-later-lap',
    rule: 'CHECKSUM, DURABLE (recovery step 2)',
    file: 'src/redo/recovery.ts',
    find: '  detectLaterLap(logFile, endLsn);\n',
    replace: '',
    tests: [`${LOG_FORMAT} > later lap`, `${CORE_LOG} > across a restart`],
  },
  // ---------------------------------------------------------------- asynchronous flush batches
  {
    name: 'B11-change-under-batch',
    rule: 'B11',
    file: 'src/buffer/buffer-pool.ts',
    find: '      if (changed !== IN_FLIGHT_UNCHANGED) {',
    replace: '      if (false) {',
    tests: ['test/buffer/flush-async.test.ts > stays dirty from that change'],
  },
  {
    name: 'B12-rewrite-in-place',
    rule: 'B12',
    file: 'src/buffer/buffer-pool.ts',
    find: '      else this.writeInPlace(batch, true); // B12',
    replace: '',
    tests: ['test/buffer/flush-async.test.ts > writes its pages again'],
  },
  // -------------------------------------------------------------------------------------- TORN
  {
    name: 'TORN-doublewrite-restore',
    rule: 'TORN (recovery step 4)',
    file: 'src/redo/recovery.ts',
    find: '  const copies = input.doublewrite?.readCopies(endLsn) ?? new Map<number, Uint8Array>();',
    replace: '  const copies = new Map<number, Uint8Array>();',
    tests: [`${CORE_LOG} > repairs a damaged page`, `${CORE_CRASH} > every operation under every policy`],
  },
  {
    name: 'TORN-doublewrite-sync',
    rule: 'TORN (D1)',
    file: 'src/buffer/doublewrite.ts',
    find: "    assert(this.batchPending, 'D1 copies written before their sync');\n    this.handle().datasync();",
    replace: "    assert(this.batchPending, 'D1 copies written before their sync');",
    tests: [`${CORE_CRASH} > every operation under every policy`],
  },
  {
    name: 'TORN-page-trailer',
    rule: 'TORN (P2)',
    file: 'src/page/page.ts',
    find: '  if (readU32(page, page.length - FIL_TRAILER_LSN_LOW_FROM_END) !== readU32(page, FIL_PAGE_LSN + 4)) {\n    return PageCheck.TornTrailer;\n  }',
    replace: '',
    tests: [`${CORE_CRASH} > every operation under every policy`],
    equivalent:
      'P1 (an xxh64 over the whole page) already fails for every page a torn write leaves; the trailer LSN is kept as InnoDB keeps it, a cheap second witness that no tear can pass P1 to reach',
  },
  // ---------------------------------------------------------------------------------- LOG-TAIL
  {
    name: 'LOG-TAIL-start-lsn',
    rule: 'LOG-TAIL (issue 17 mutation 2)',
    file: 'src/redo/redo-record.ts',
    find: '  if (readU64(bytes, 4) !== expectedLsn) return GroupCheck.NotHere;',
    replace: '  // mutant: a group of another lap counts if its checksum matches',
    tests: [`${LOG_FORMAT} > previous lap`, `${CORE_LOG} > previous lap right after the durable end`],
  },
  {
    name: 'LOG-TAIL-corrupt-middle',
    rule: 'LOG-TAIL, DURABLE (DURABLE_LSN)',
    file: 'src/redo/recovery.ts',
    find: '  if (groupDurableLsn(next) >= endLsn + length) {',
    replace: '  if (false) {',
    tests: [`${LOG_FORMAT} > where a later group says the log was durable`, `${CORE_LOG} > reports a flipped bit`],
  },
  {
    name: 'LOG-TAIL-reader-overwritten',
    rule: 'LOG-TAIL (R3)',
    file: 'src/redo/log-reader.ts',
    find: '    if (nextLsn < newestCheckpointLsn && (groups.length === 0 || nextLsn === fromLsn)) {',
    replace: '    if (false) {',
    tests: [`${LOG_FORMAT} > refuses a position below the newest checkpoint`],
  },
  {
    name: 'LOG-TAIL-reader-not-yet',
    rule: 'LOG-TAIL (R2, seed 000)',
    file: 'src/redo/log-reader.ts',
    find: '    if (nextLsn < newestCheckpointLsn && (groups.length === 0 || nextLsn === fromLsn)) {',
    replace: '    if (groups.length === 0 || nextLsn === fromLsn) {',
    tests: [`${SEEDS} > seed-000`, `${CORE_LOG} > a live tail never returns a group`],
  },
  // ----------------------------------------------------------------------------------- DURABLE
  {
    name: 'DURABLE-group-commit-written-lsn',
    rule: 'DURABLE (issue 17 mutation 1)',
    file: 'src/redo/redo-log.ts',
    find: '      if (waiter.lsn <= this.durableLsn) waiter.resolve();',
    replace: '      if (waiter.lsn <= this.writtenLsn) waiter.resolve();',
    tests: [GROUP_COMMIT],
  },
  {
    name: 'DURABLE-async-sync-target',
    rule: 'DURABLE (L1)',
    file: 'src/redo/redo-log.ts',
    find: '        this.stats.syncs++;\n        this.durableLsn = Math.max(this.durableLsn, target);',
    replace: '        this.stats.syncs++;\n        this.durableLsn = Math.max(this.durableLsn, this.writtenLsn);',
    tests: [GROUP_COMMIT],
  },
  {
    name: 'DURABLE-flush-sync',
    rule: 'DURABLE',
    file: 'src/redo/redo-log.ts',
    find: '      }\n      this.file.file.datasync();\n    } catch (error) {\n      this.fail(error);\n      throw error;',
    replace: '      }\n      // mutant: no sync\n    } catch (error) {\n      this.fail(error);\n      throw error;',
    tests: [`${CORE_LOG} > 'full' loses nothing acknowledged`, GROUP_COMMIT, `${SEEDS} > seed-001`],
  },
  {
    name: 'DURABLE-full-commit-waits-for-sync',
    rule: 'DURABLE (seed 001)',
    file: 'src/redo/redo-log.ts',
    find: "      case 'full':\n        return this.waitDurable(lsn);\n",
    replace: "      case 'full':\n",
    tests: [`${SEEDS} > seed-001`, `${CORE_LOG} > 'full' loses nothing acknowledged`],
  },
  {
    name: 'DURABLE-poison-after-failed-sync',
    rule: 'DURABLE (L4)',
    file: 'src/redo/redo-log.ts',
    find: "    this.health.poison(error, 'log sync');",
    replace: '    // mutant: a failed sync does not poison the engine',
    tests: [`${GROUP_COMMIT} > L4`],
  },
  {
    name: 'DURABLE-recovery-space-sync',
    rule: 'DURABLE, RC2',
    file: 'src/redo/recovery.ts',
    find: '      registry.handleFor(registry.openFile(spaceId, true)).datasync();',
    replace: '      registry.openFile(spaceId, true);',
    tests: [`${CORE_CRASH} > a process crash at every operation, recovery, then a power cut`],
  },
  // --------------------------------------------------------------------------------------- DIR
  {
    name: 'DIR-create-space-file',
    rule: 'DIR (C2)',
    file: 'src/page/tablespace.ts',
    find: "    const file = this.vfs.open(path, { create: true });\n    file.close();\n    this.vfs.syncDir('');",
    replace: '    const file = this.vfs.open(path, { create: true });\n    file.close();',
    tests: ['test/api/ddl-dir.test.ts', `${CORE_LOG} > syncs the directory after creating files`],
  },
  {
    name: 'DIR-remove-space-file',
    rule: 'DIR (C2)',
    file: 'src/page/tablespace.ts',
    find: "      this.vfs.remove(path);\n      this.vfs.syncDir('');",
    replace: '      this.vfs.remove(path);',
    tests: ['test/api/ddl-dir.test.ts', `${CORE_CRASH} > DIR: a process crash`],
  },
  {
    name: 'DIR-recovery-sync-dir',
    rule: 'DIR, RC2',
    file: 'src/redo/recovery.ts',
    find: "  registry.vfs.syncDir('');\n",
    replace: '',
    tests: [`${CORE_CRASH} > DIR: a process crash`],
  },
  {
    name: 'DIR-doublewrite-file',
    rule: 'DIR',
    file: 'src/buffer/doublewrite.ts',
    find: "      if (!existed) this.vfs.syncDir(''); // rule DIR",
    replace: '      // mutant: the doublewrite file created without a directory sync',
    tests: [`${CORE_LOG} > syncs the directory after creating files`],
  },
  {
    name: 'DIR-log-file-rename',
    rule: 'DIR',
    file: 'src/redo/log-file.ts',
    find: "    vfs.rename(LOG_FILE_TMP, LOG_FILE);\n    vfs.syncDir('');",
    replace: '    vfs.rename(LOG_FILE_TMP, LOG_FILE);',
    tests: ['test/api/ddl-dir.test.ts', `${CORE_CRASH} > every operation under every policy`],
    equivalent:
      "issue 17's harmless fifth mutation: Storage.open creates system.ibd right after, and that file's directory sync persists the rename; a crash in between leaves no system.ibd, which is a database still being created, and recovery now syncs the directory first (RC2)",
  },
  // -------------------------------------------------------------------------------- PURGE-MONO
  {
    name: 'PURGE-MONO-clone-guard',
    rule: 'PURGE-MONO',
    file: 'src/mvcc/trx-system.ts',
    find: '    if (candidate.lowLimitNo <= this.purgeViewValue.lowLimitNo && !this.allowPurgeViewBackwards) {',
    replace: '    if (false) {',
    tests: ['test/mvcc/trx-system.test.ts', 'test/mvcc/seed-002.test.ts', `${SEEDS} > seed-002`],
  },
  {
    name: 'PURGE-MONO-view-reuse-check',
    rule: 'PURGE-MONO (seed 002)',
    file: 'src/mvcc/trx-system.ts',
    find: '      if (!cached.open && cached.lowLimitId === this.nextIdValue && this.active.length === cached.activeIds.length) {',
    replace: '      if (!cached.open) {',
    tests: ['test/mvcc/trx-system.test.ts', 'test/mvcc/seed-002.test.ts', `${SEEDS} > seed-002`],
  },
  {
    name: 'AV1-reuse-held-view',
    rule: 'AV1 (a held autocommit view is never shared)',
    file: 'src/mvcc/trx-system.ts',
    find: '      if (!cached.open && cached.lowLimitId === this.nextIdValue && this.active.length === cached.activeIds.length) {',
    replace: '      if (cached.lowLimitId === this.nextIdValue && this.active.length === cached.activeIds.length) {',
    tests: ['test/mvcc/trx-system.test.ts', 'test/api/statement-snapshot.test.ts'],
  },
  // -------------------------------------------------------------------------------------- MVCC
  {
    name: 'MVCC-old-version-delete-mark',
    rule: 'MVCC (previous versions keep their delete mark)',
    file: 'src/row/row-vers.ts',
    find: '    version.deleted = cursor.type === UndoRecordType.UpdateDeleteMarked;',
    replace: '    version.deleted = false;',
    tests: ['test/api/old-versions.test.ts'],
  },
  {
    name: 'MVCC-undo-empty-value',
    rule: 'UF1 (seed 003 family: a zero-length value is not NULL)',
    file: 'src/row/row-vers.ts',
    find: '      cursor.valueLength < 0\n        ? null',
    replace: '      cursor.valueLength <= 0\n        ? null',
    tests: ['test/api/old-versions.test.ts'],
  },
  // ----------------------------------------------------------------------------- IBUF-SAME-MTR
  {
    name: 'IBUF-SAME-MTR-records-stay',
    rule: 'IBUF-SAME-MTR (IB2, seed 004)',
    file: 'src/ibuf/change-buffer.ts',
    find: '      for (const record of records) this.removeRecord(mtr, record); // IBUF-SAME-MTR (IB2)',
    replace: '      // mutant: the records stay in the change buffer after the mtr that applied them',
    tests: [`${SEEDS} > seed-004`, `${IBUF_CRASH} > recovers every operation`],
  },
  {
    name: 'IBUF-SAME-MTR-split-merge',
    rule: 'IBUF-SAME-MTR (IB2, seed 004: the bug itself, without the test-only seam)',
    file: 'src/ibuf/change-buffer.ts',
    find: '    if (this.mergeInTwoMtrs) {',
    replace: '    if (true) { // mutant: every merge removes its records in a later mtr',
    tests: [`${SEEDS} > seed-004`, `${IBUF_CRASH} > recovers every operation`],
  },
  {
    name: 'IBUF-bitmap-never-lowered',
    rule: 'IB5 (bug class 8: bitmap and change buffer disagree)',
    file: 'src/ibuf/change-buffer.ts',
    find: '      if (entry !== old) this.bitmaps.write(mtr, tree.spaceId, pageNo, entry);',
    replace: '      if (entry > old) this.bitmaps.write(mtr, tree.spaceId, pageNo, entry);',
    tests: ['test/ibuf/change-buffer.test.ts', `${IBUF_CRASH} > recovers every operation`],
  },
  // ------------------------------------------------------------------------------ row locks
  {
    name: 'IW2-clustered-insert-inherits',
    rule: 'IW2 (issue 10: lock_update_insert)',
    file: 'src/row/index-write.ts',
    find: '      if (inserted) onEntryInserted(locks, primaryId, table.clustered, key);\n',
    replace: '',
    tests: [GAP_INHERITANCE],
  },
  {
    name: 'IW2-clustered-remove-passes-locks',
    rule: 'IW2 (issue 10: lock_update_delete)',
    file: 'src/row/index-write.ts',
    find: '      onEntryRemoved(locks, primaryId, table.clustered, key);\n',
    replace: '',
    tests: [GAP_INHERITANCE],
  },
  {
    name: 'IW2-secondary-insert-inherits',
    rule: 'IW2 (issue 10: lock_update_insert)',
    file: 'src/row/index-write.ts',
    find: '      if (tree.insert(mtr, key, EMPTY, 0)) onEntryInserted(locks, secondary.index.id, tree, key);',
    replace: '      if (tree.insert(mtr, key, EMPTY, 0)) void locks;',
    tests: [SECONDARY_READS],
  },
  {
    name: 'IW2-secondary-remove-passes-locks',
    rule: 'IW2 (issue 10: lock_update_delete)',
    file: 'src/row/index-write.ts',
    find: '      if (!tree.find(key, tree.view) || (tree.view.flags & ENTRY_DELETE_MARK) === 0) return;\n      onEntryRemoved(locks, secondary.index.id, tree, key);\n',
    replace: '      if (!tree.find(key, tree.view) || (tree.view.flags & ENTRY_DELETE_MARK) === 0) return;\n',
    tests: [SECONDARY_READS],
  },
  {
    name: 'IB3-unique-build-checks-the-tree',
    rule: 'IB3',
    file: 'src/row/index-build.ts',
    find: 'if (this.batchPrefixes.has(id) || this.liveEntryWith(prefix))',
    replace: 'if (this.batchPrefixes.has(id))',
    tests: ['test/api/ddl.test.ts > BUG-UNIQUE-BUILD-BATCH'],
  },
  {
    name: 'K3-one-victim-per-wait',
    rule: 'K3 (issue 10: every cycle through a new wait is resolved)',
    file: 'src/lock/lock-manager.ts',
    find: '      if (this.seams.oneVictimPerWait === true) return;',
    replace: '      return;',
    tests: [`${ISOLATION_SCRIPTS} > deadlock-cycles`, 'test/lock/deadlock-property.test.ts'],
  },
  {
    name: 'SERIALIZABLE-index-entry-lock',
    rule: 'SERIALIZABLE reads lock what they read (next-key locks on the secondary entries passed)',
    file: 'src/row/row-sel.ts',
    find: "      this.shareNow(trx, table, indexId, entryKey, uniqueKey && !marked ? 'record' : 'next-key');\n",
    replace: '',
    tests: [SECONDARY_READS],
  },
  // ------------------------------------------------------------------------- LOB-DIFF, LOBs
  {
    name: 'LOB-DIFF-zero-length',
    rule: 'LOB-DIFF, UF2 (seed 003: the reader loses its position after a zero-length diff)',
    file: 'src/rec/undo-fields.ts',
    find: '    let pagesAt = oldStart + length; // seed 003: by the declared length, zero included',
    replace: '    let pagesAt = length === 0 ? this.end : oldStart + length;',
    tests: [`${SEEDS} > seed-003`],
  },
  {
    name: 'LOB-13-diff-applied-by-version',
    rule: 'UF3, bug class 13 (an undo diff applied where it was not taken from)',
    file: 'src/lob/lob-read.ts',
    find: '      if (index < 0 || index >= taken.length || taken[index] !== diff.pages[i]) continue;',
    replace: '      if (index < 0 || index >= taken.length) continue;',
    tests: ['test/lob/lob-api.test.ts > bug class 13', 'test/lob/lob-model.test.ts > fixed seed'],
  },
  {
    name: 'LOB-L5-no-pending-cleanup',
    rule: 'L5 (a LOB written ahead of a row change a crash cut short is dropped at open)',
    file: 'src/row/row-engine.ts',
    find: '    for (const table of engine.tables.all()) cleanUpPending(table.lobs);',
    replace: '    // mutant: the pending list is left as the crash left it',
    tests: ['test/lob/lob-crash.test.ts > insert'],
  },
  {
    name: 'LOB-L1-purge-frees-reachable-versions',
    rule: 'L1, L2, PG1 (purge frees only the versions no reader can reach)',
    file: 'src/lob/lob-free.ts',
    find: '      const keptNo = ctx.pageAtVersion(get, firstPageNo, lobId, slot, version);',
    replace: '      const keptNo = ctx.pageAtVersion(get, firstPageNo, lobId, slot, Number.MAX_SAFE_INTEGER);',
    tests: ['test/lob/lob-api.test.ts > purge frees a version only once', 'test/lob/lob-model.test.ts > fixed seed'],
  },
  // ------------------------------------------------------------------------- the fault model
  {
    name: 'FAULTVFS-async-sync-covers-later-writes',
    rule: 'FaultVfs F12',
    file: 'src/vfs/fault-vfs.ts',
    find: '    const upToSeq = this.seq;',
    replace: '    const upToSeq = Number.POSITIVE_INFINITY;',
    tests: ['test/vfs/fault-vfs-async-sync.test.ts'],
  },
  {
    name: 'FAULTVFS-os-cache-made-durable',
    rule: 'FaultVfs F11',
    file: 'src/vfs/fault-vfs.ts',
    find: '    if (image.osCache !== undefined) {',
    replace: '    if (false) {',
    tests: [
      'test/vfs/fault-vfs-os-cache.test.ts',
      'test/vfs/fault-vfs-contract.test.ts',
      `${CORE_CRASH} > after a kill -9`,
    ],
  },
];
