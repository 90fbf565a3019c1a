/**
 * Salvage on databases with random pages corrupted: every salvaged row is byte-equal to the
 * original (SV1: never a row from a page that failed its checks), and every original row that is
 * missing lies in a lost range the report names (SV2), with the bad pages listed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DOUBLEWRITE_FILE } from '../../src/buffer/doublewrite.js';
import { salvage, type LostRange } from '../../src/ops/salvage.js';
import { fromJsonCell } from '../../src/ops/value-text.js';
import type { Row } from '../../src/rec/row-format.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { compareCells, type Cell } from '../api/model.js';
import { openTestDatabase } from '../support/open.js';
import { expectSameRows } from './rows.js';

const PAGE = 4096;
const ORDERS: TableSchema = {
  name: 'orders',
  columns: [
    { name: 'region', type: 'string', maxLength: 20 },
    { name: 'n', type: 'int32' },
    { name: 'amount', type: 'float64' },
    { name: 'note', type: 'string', nullable: true },
    { name: 'raw', type: 'bytes', nullable: true },
  ],
  primaryKey: ['region', 'n'],
  indexes: [{ name: 'by_amount', columns: ['amount'] }],
};
const ITEMS: TableSchema = {
  name: 'items',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'doc', type: 'json' },
  ],
  primaryKey: ['id'],
  indexes: [],
};

async function build(seed: number): Promise<{ vfs: MemoryVfs; rows: Map<string, Row[]> }> {
  const random = new RandomSource(seed);
  const vfs = new MemoryVfs();
  const db = await openTestDatabase(vfs, { pageSize: PAGE });
  await db.createTable(ORDERS);
  await db.createTable(ITEMS);
  const orders: Row[] = [];
  for (let i = 0; i < 1000; i++) {
    orders.push({
      region: ['eu', 'us', 'asia', 'af'][i % 4]!,
      n: i,
      amount: random.float() * 1000 - 500,
      note: i % 3 === 0 ? null : `note ${i} ${'z'.repeat(random.int(60))}`,
      raw: i % 5 === 0 ? null : random.fill(new Uint8Array(random.int(30))),
    });
  }
  const items: Row[] = [];
  for (let i = 0; i < 500; i++)
    items.push({ id: BigInt(i * 3), doc: { i, tags: ['a', 'b'].slice(0, i % 3), x: i / 7 } });
  for (let at = 0; at < orders.length; at += 300) await db.table('orders').insertMany(orders.slice(at, at + 300));
  await db.table('items').insertMany(items);
  // Some deletes, purged, so pages were freed and merged.
  for (let i = 0; i < 60; i++) await db.table('items').delete(BigInt(i * 3 * 5));
  db.purge();
  await db.close();
  const live = items.filter((row) => (row.id as bigint) % 15n !== 0n || (row.id as bigint) >= 900n);
  return {
    vfs,
    rows: new Map([
      ['orders', orders],
      ['items', live],
    ]),
  };
}

const show = (cells: readonly Cell[]): string => cells.map(String).join('|');

function key(schema: TableSchema, row: Row): Cell[] {
  return schema.primaryKey.map((name) => row[name] as Cell);
}

function compareKeys(a: readonly Cell[], b: readonly Cell[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareCells(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function inLost(schema: TableSchema, row: Row, lost: readonly LostRange[]): boolean {
  const k = key(schema, row);
  const decode = (values: readonly unknown[]) =>
    values.map((value, i) => fromJsonCell(schema.columns.find((c) => c.name === schema.primaryKey[i])!, value));
  return lost.some(
    (range) =>
      range.table === schema.name &&
      (range.after === undefined || compareKeys(k, decode(range.after)) > 0) &&
      (range.before === undefined || compareKeys(k, decode(range.before)) < 0),
  );
}

function copyOf(source: MemoryVfs): MemoryVfs {
  const copy = new MemoryVfs();
  for (const name of source.list('')) {
    const from = source.open(name, { readOnly: true });
    const bytes = new Uint8Array(from.size());
    from.read(bytes, 0);
    from.close();
    const to = copy.open(name, { create: true });
    to.write(bytes, 0);
    to.close();
  }
  return copy;
}

describe('salvage', () => {
  const modes = new Set<string>();
  afterAll(() => expect([...modes].sort()).toEqual(['raw', 'recovered'])); // both paths ran
  let built: Promise<{ vfs: MemoryVfs; rows: Map<string, Row[]> }> | undefined;
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: salvages every readable row exactly and names every lost range`, async () => {
      built ??= build(1);
      const { vfs: pristine, rows } = await built;
      const vfs = copyOf(pristine);
      const random = new RandomSource(seed * 100);
      // Corrupt a few random pages of the table spaces (seed 4: the header page too, so
      // recovery cannot run and the files are read raw).
      const damaged: { file: string; pageNo: number }[] = [];
      for (const file of ['space-000001.ibd', 'space-000002.ibd']) {
        const handle = vfs.open(file);
        const pages = handle.size() / PAGE;
        for (let i = 0; i < 3; i++) {
          const pageNo = seed === 4 && i === 0 ? 0 : 1 + random.int(pages - 1);
          handle.write(random.fill(new Uint8Array(16)), pageNo * PAGE + 200 + random.int(PAGE - 400));
          damaged.push({ file, pageNo });
        }
        handle.close();
      }
      // The database closed cleanly: recovery needs nothing from the doublewrite file, whose
      // copies of the last flush batches would repair any damaged page among them.
      vfs.remove(DOUBLEWRITE_FILE);
      const target = new MemoryVfs();
      const report = await salvage(vfs, target, { redoLogBytes: 1 << 20 });
      // A damaged header or tree root stops the open: the files are then read raw.
      if (seed === 4) expect(report.mode).toBe('raw');
      if (report.mode === 'raw') expect(report.recoveryError).toMatch(/corruption/);
      modes.add(report.mode);
      for (const { file, pageNo } of damaged) {
        const spaceId = Number(file.slice(6, 12));
        expect(
          report.badPages.some((bad) => bad.spaceId === spaceId && bad.pageNo === pageNo),
          `${file} ${pageNo}`,
        ).toBe(true);
      }
      const db = await openTestDatabase(target);
      let missing = 0;
      for (const schema of [ORDERS, ITEMS]) {
        const original = new Map(rows.get(schema.name)!.map((row) => [show(key(schema, row)), row]));
        const salvaged = [...db.table(schema.name).scan()];
        // SV1: each salvaged row is the original row, byte for byte.
        expectSameRows(
          salvaged,
          salvaged.map((row) => original.get(show(key(schema, row)))!),
        );
        const got = new Set(salvaged.map((row) => show(key(schema, row))));
        for (const [k, row] of original) {
          if (got.has(k)) continue;
          missing++;
          expect(inLost(schema, row, report.lost), `${schema.name} ${k} is missing but in no lost range`).toBe(true);
        }
        expect(report.tables.find((t) => t.name === schema.name)!.rows).toBe(salvaged.length);
      }
      db.check();
      await db.close();
      expect(missing).toBeGreaterThan(0);
    });
  }
});
