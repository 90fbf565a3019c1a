// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { Database, MemoryVfs, restoreBackup } from '../src/index.js';

const db = await Database.open({ redoLogBytes: 1 << 20 });
await db.createTable({
  name: 'notes',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'text', type: 'string' },
  ],
  primaryKey: ['id'],
});
await db.table('notes').insert({ id: 1, text: 'before the backup' });

// Writes go on while the backup copies pages and tails the redo log.
const backupDir = new MemoryVfs(); // or a path: db.backup('/backups/monday')
const writing = db.table('notes').insert({ id: 2, text: 'during the backup' });
const backup = await db.backup(backupDir, { onProgress: (p) => p.phase === 'done' && console.log(p.redoBytes > 0) }); // → true
await writing;
await db.table('notes').insert({ id: 3, text: 'after the backup' });

// Restore: apply the tailed redo, roll back what was uncommitted at END_LSN, check.
const restoredDir = new MemoryVfs();
const restored = await restoreBackup(backupDir, restoredDir);
console.log(restored.endLsn === backup.endLsn, restored.check.rows); // → true 2
const copy = await Database.open({ vfs: restoredDir });
console.log([...copy.table('notes').scan()].map((row) => row.id)); // → [ 1, 2 ]
await copy.close();
await db.close();
