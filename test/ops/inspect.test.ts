/**
 * The inspector on a database that is not open: spaces and page types, a page dump with named
 * fields and decoded rows, a tree's levels, a row's versions through its undo chain, the history
 * list and purge view, the redo's groups; and a bad page shown as bad, never decoded.
 */
import { describe, expect, it } from 'vitest';
import { Inspector, drawTree } from '../../src/ops/inspect/inspector.js';
import { registerPageDecoder } from '../../src/ops/inspect/page-decoders.js';
import { PageType } from '../../src/page/page.js';
import { type CrashImage, FaultVfs } from '../../src/vfs/fault-vfs.js';
import { openTestDatabase } from '../support/open.js';

let image: Promise<CrashImage> | undefined;

async function sample(): Promise<FaultVfs> {
  image ??= build();
  return FaultVfs.fromImage(await image, { seed: 2 });
}

async function build(): Promise<CrashImage> {
  const vfs = new FaultVfs({ seed: 1 });
  const db = await openTestDatabase(vfs);
  await db.createTable({
    name: 'people',
    columns: [
      { name: 'id', type: 'int64' },
      { name: 'name', type: 'string' },
      { name: 'age', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'by_name', columns: ['name'] }],
  });
  const rows = Array.from({ length: 300 }, (_, i) => ({
    id: BigInt(i),
    name: `person ${i} ${'x'.repeat(30)}`,
    age: i % 90,
  }));
  await db.table('people').insertMany(rows);
  await db.table('people').update(7n, { age: 1 });
  await db.table('people').update(7n, { age: 2, name: 'seven' });
  await db.table('people').update(7n, { age: 3 });
  db.storage.pool.flushAll();
  db.storage.checkpoint();
  await db.table('people').update(8n, { age: 100 }); // after the checkpoint: in the redo only
  db.storage.log.flushUpTo(db.storage.log.currentLsn);
  const crashed = vfs.crashNow('process-crash'); // a database that is not open, with redo to show
  db.abandon();
  return crashed;
}

describe('the inspector', () => {
  it('shows spaces, pages, trees, versions, history and redo of a database that is not open', async () => {
    const vfs = await sample();
    const inspector = await Inspector.open(vfs);
    const spaces = inspector.spaces();
    expect(spaces.map((s) => s.file)).toEqual(['system.ibd', 'space-000001.ibd']);
    expect(spaces[1]!.tables).toEqual(['people']);
    expect(spaces[1]!.pageTypes['Index']).toBeGreaterThan(3);
    expect(spaces[0]!.pageTypes['Undo']).toBeGreaterThan(0);

    const levels = inspector.tree('people');
    expect(levels.length).toBeGreaterThan(1);
    expect(levels.at(-1)!.level).toBe(0);
    expect(drawTree(levels)).toMatch(/level 0 \(leaves\)/);
    const leaf = inspector.page(1, levels.at(-1)!.pages[0]!.pageNo);
    expect(leaf.type).toBe('Index');
    expect(leaf.index).toBe('people.PRIMARY');
    expect(leaf.fil.map((f) => f.name)).toEqual([
      'CHECKSUM',
      'PAGE_NO',
      'SPACE_ID',
      'PAGE_LSN',
      'PAGE_TYPE',
      'PREV',
      'NEXT',
    ]);
    expect(leaf.fields.map((f) => f.name)).toContain('N_ENTRIES');
    expect(leaf.records[0]).toMatchObject({ key: ['0'], row: { id: '0', age: 0 } });
    expect(leaf.records[0]!['DB_TRX_ID']).toBeGreaterThan(0);
    const secondary = inspector.tree('people', 'by_name');
    expect(inspector.page(1, secondary.at(-1)!.pages[0]!.pageNo).index).toBe('people.by_name');

    const { versions, end } = inspector.versions('people', ['7']);
    expect(versions.map((v) => v.row['age'])).toEqual([3, 2, 1, 7]);
    expect(versions[1]!.row['name']).toBe('seven');
    expect(versions[2]!.row['name']).toMatch(/^person 7 /);
    expect(end).toBe('inserted');

    const history = inspector.history();
    expect(history.historyLength).toBe(history.history.length);
    expect(history.history.length).toBeGreaterThan(0);
    expect(history.purgeView.lowLimitNo).toBeGreaterThan(history.history.at(-1)!.trxNo);

    const redo = inspector.redo();
    expect(redo.groups.length).toBeGreaterThan(0);
    expect(redo.groups[0]!.startLsn).toBe(redo.checkpointLsn);
    expect(redo.groups.flatMap((g) => g.records.map((r) => r.type))).toContain('Write');

    // The header page of the table's space is page 0: named fields from tablespace.ts.
    expect(inspector.page(1, 0).fields.map((f) => f.name)).toContain('SPACE_FREE_HEAD');
    inspector.close();
  });

  it('reports a bad page as bad and decodes nothing from it', async () => {
    const vfs = await sample();
    const file = vfs.open('space-000001.ibd');
    file.write(new Uint8Array(8).fill(0xee), 2 * 4096 + 1000);
    file.close();
    const inspector = await Inspector.open(vfs);
    const dump = inspector.page(1, 2);
    expect(dump.check).toMatch(/checksum mismatch/);
    expect(dump.records).toEqual([]);
    expect(inspector.spaces()[1]!.badPages.map((b) => b.pageNo)).toEqual([2]);
    inspector.close();
  });

  it('lets a page type register its decoder', async () => {
    registerPageDecoder(PageType.Raw, {
      name: 'Raw',
      fields: (page) => [{ name: 'FIRST_WORD', offset: 40, size: 4, value: page[40]! }],
    });
    const vfs = await sample();
    const inspector = await Inspector.open(vfs);
    expect(inspector.spaces()[0]!.pageTypes['Raw']).toBeUndefined();
    inspector.close();
    registerPageDecoder(PageType.Raw, { name: 'Raw', fields: () => [] });
  });
});
