/**
 * The other process of `two-process.test.ts`. Argument: a JSON `ChildPlan`. Prints one JSON line
 * per event on stdout: `{ opened, pid }` or `{ error, pid, holderReadOnly }`, `{ committed: id }`
 * after each acknowledged (fully durable) commit, `{ count }` for a read-only open, `{ ready }`,
 * and `{ closed }`. While holding, it waits for a line "close" on stdin.
 */
import { createInterface } from 'node:readline';
import type { Database } from '../../src/api/database.js';
import type { LockedError } from '../../src/errors.js';
import { openTestDatabaseWith } from '../support/open.js';

export interface ChildPlan {
  readonly path: string;
  readonly readOnly?: boolean;
  /** Insert rows with ids [from, to), one autocommit transaction each. */
  readonly insert?: readonly [number, number];
  /** Keep the database open until "close" arrives on stdin (default: close at once). */
  readonly hold?: boolean;
}

const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

const plan = JSON.parse(process.argv[2]!) as ChildPlan;
let db: Database;
try {
  db = await openTestDatabaseWith({ path: plan.path, readOnly: plan.readOnly === true });
} catch (error) {
  const locked = error as LockedError;
  say({ error: locked.code, pid: locked.pid, holderReadOnly: locked.holderReadOnly, message: locked.message });
  process.exit(0);
}
say({ opened: true, pid: process.pid });
if (!db.tables.includes('acks')) {
  await db.createTable({
    name: 'acks',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'by', type: 'int32' },
    ],
    primaryKey: ['id'],
  });
}
if (plan.readOnly === true) say({ count: db.table('acks').count() });
if (plan.insert !== undefined) {
  for (let id = plan.insert[0]; id < plan.insert[1]; id++) {
    await db.table('acks').insert({ id, by: process.pid });
    say({ committed: id });
  }
}
say({ ready: true });
if (plan.hold === true) {
  for await (const line of createInterface({ input: process.stdin })) if (line === 'close') break;
  process.stdin.destroy(); // an open stdin would keep this process alive
}
db.check();
await db.close();
say({ closed: true });
