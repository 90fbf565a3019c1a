/**
 * The redo log format's edge cases, one test each, as LevelDB's `log_test.cc` has them: an empty
 * log, one group, a group ending exactly at the ring's end, a group (and a header) wrapped across
 * it, a short tail, a trailer shorter than a header, a zero tail, a partial last group, a bad
 * checksum at the tail and in the middle, a group of the previous lap and of a later one, absurd
 * lengths, a group from another position, a malformed record, and the live reader's own edges.
 *
 * Each test writes groups by hand (`sealGroup` at the ring positions of their LSNs) after the
 * checkpoint of a real database, then opens it (recovery, `recovery.ts`) or reads it with the live
 * reader (`log-reader.ts`). Every group is one WRITE of a u32 value into the same page word, plus
 * padding records to set its size, so the value the page ends with names the last group applied.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Storage } from '../../src/core/storage.js';
import { CorruptionError } from '../../src/errors.js';
import { loadChecksums } from '../../src/page/checksum.js';
import { FIL_HEADER_BYTES, readU32, writeU16, writeU32 } from '../../src/page/page.js';
import { LOG_FILE, LogFile, RING_OFFSET } from '../../src/redo/log-file.js';
import { LogOverwrittenError, LogReader } from '../../src/redo/log-reader.js';
import { GROUP_OVERHEAD_BYTES, RECORD_HEADER_BYTES, RedoType, sealGroup } from '../../src/redo/redo-record.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import { LOG_CAPACITY, setUpPages, storageOptions, type PageRef } from '../core/mtr-workload.js';

const CAPACITY = LOG_CAPACITY;
const WORD = FIL_HEADER_BYTES; // the page word each group sets
const PAD_AT = 200; // where padding records write
const WRITE_BYTES = RECORD_HEADER_BYTES + 4; // a WRITE record's header, offset and length
const GROUP_MIN = GROUP_OVERHEAD_BYTES + WRITE_BYTES + 4; // the value record alone
const PAD_MAX = 3000; // bytes of one padding record: inside a 4 KiB page

interface Base {
  readonly image: CrashImage;
  readonly page: PageRef;
  /** Where recovery starts: the checkpoint of the clean shutdown. */
  readonly checkpointLsn: number;
  /** The value the page word holds before any group of ours. */
  readonly before: number;
}

let base: Base;

beforeAll(async () => {
  await loadChecksums();
  const vfs = new FaultVfs({ seed: 1 });
  const storage = await Storage.open(storageOptions(vfs));
  const [page] = setUpPages(storage, [1], 1);
  // More than a lap of log first, so that the ring holds a previous lap and LSNs below the
  // checkpoint's lap exist.
  for (let i = 0; storage.log.currentLsn < 1.5 * CAPACITY; i++) {
    const mtr = storage.startMtr();
    mtr.write(mtr.getPage(page!.spaceId, page!.pageNo), PAD_AT, new Uint8Array(PAD_MAX).fill(i & 0xff));
    mtr.commit();
  }
  const mtr = storage.startMtr();
  mtr.writeU32(mtr.getPage(page!.spaceId, page!.pageNo), WORD, 7);
  mtr.commit();
  await storage.close();
  const image = vfs.durableImage();
  const log = LogFile.open(FaultVfs.fromImage(image, { seed: 1 }), 4096);
  base = { image, page: page!, checkpointLsn: log.readCheckpoint().lsn, before: 7 };
  expect(base.checkpointLsn).toBeGreaterThan(CAPACITY);
});

/** A group at `startLsn` setting the page word to `value`, `bytes` long in all (padding records make up the rest). */
function group(startLsn: number, value: number, options: { bytes?: number; durableLsn?: number } = {}): Uint8Array {
  const length = options.bytes ?? GROUP_MIN;
  expect(length === GROUP_MIN || length >= GROUP_MIN + WRITE_BYTES + 1, `group length ${length}`).toBe(true);
  const bytes = new Uint8Array(length);
  let at = 20;
  const write = (offset: number, data: Uint8Array): void => {
    bytes[at] = RedoType.Write;
    writeU32(bytes, at + 1, base.page.spaceId);
    writeU32(bytes, at + 5, base.page.pageNo);
    writeU16(bytes, at + 9, offset);
    writeU16(bytes, at + 11, data.length);
    bytes.set(data, at + WRITE_BYTES);
    at += WRITE_BYTES + data.length;
  };
  const value32 = new Uint8Array(4);
  writeU32(value32, 0, value);
  write(WORD, value32);
  while (at < length - 4) {
    const room = length - 4 - at - WRITE_BYTES;
    const pad = room > PAD_MAX ? Math.min(PAD_MAX, room - WRITE_BYTES - 1) : room;
    write(PAD_AT, new Uint8Array(pad).fill(value & 0xff));
  }
  sealGroup(bytes, length, startLsn, options.durableLsn ?? base.checkpointLsn);
  return bytes;
}

/** A copy of the base log with `bytes` placed at the ring position of `lsn` (wrapping at the ring's end). */
class LogBuilder {
  readonly bytes = base.image.files.get(LOG_FILE)!.slice();
  /** The LSN after the last group appended. */
  lsn = base.checkpointLsn;

  place(lsn: number, data: Uint8Array): this {
    const at = lsn % CAPACITY;
    const first = Math.min(data.length, CAPACITY - at);
    this.bytes.set(data.subarray(0, first), RING_OFFSET + at);
    this.bytes.set(data.subarray(first), RING_OFFSET);
    return this;
  }

  /** Appends a group setting the page word to `value`. */
  append(value: number, options: { bytes?: number; durableLsn?: number } = {}): this {
    const bytes = group(this.lsn, value, options);
    this.place(this.lsn, bytes);
    this.lsn += bytes.length;
    return this;
  }

  /** Appends groups (setting the word to 1000, 1001, ...) until the log reaches exactly `lsn`. */
  appendUpTo(lsn: number): this {
    for (let value = 1000; this.lsn < lsn; value++) {
      const left = lsn - this.lsn;
      const bytes = left <= 4000 ? left : left - 4000 < GROUP_MIN + WRITE_BYTES + 1 ? 2000 : 4000;
      this.append(value, { bytes });
    }
    expect(this.lsn).toBe(lsn);
    return this;
  }

  image(): CrashImage {
    const files = new Map(base.image.files);
    files.set(LOG_FILE, this.bytes);
    return { files, directories: base.image.directories };
  }
}

/** Opens the database on the built log: what recovery found and the page word, or the error. */
async function recoverFrom(
  log: LogBuilder | CrashImage,
): Promise<{ groups: number; endLsn: number; value: number } | Error> {
  const image = log instanceof LogBuilder ? log.image() : log;
  try {
    const storage = await Storage.open(storageOptions(FaultVfs.fromImage(image, { seed: 2 })));
    const mtr = storage.startMtr();
    const value = readU32(mtr.getPage(base.page.spaceId, base.page.pageNo), WORD);
    mtr.commit();
    const { groups, endLsn } = storage.recovery!;
    await storage.close();
    return { groups, endLsn, value };
  } catch (error) {
    return error as Error;
  }
}

/** The ring's bytes as a zero-filled log: preallocated, never written past the checkpoint. */
function zeroedAfterCheckpoint(log: LogBuilder): LogBuilder {
  log.place(base.checkpointLsn, new Uint8Array(CAPACITY - (base.checkpointLsn % CAPACITY)));
  return log;
}

describe('the redo log format: recovery', () => {
  it('an empty log: nothing after the checkpoint', async () => {
    expect(await recoverFrom(zeroedAfterCheckpoint(new LogBuilder()))).toEqual({
      groups: 0,
      endLsn: base.checkpointLsn,
      value: base.before,
    });
  });

  it('one group', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: log.lsn, value: 1 });
  });

  it('many groups, applied in order', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder());
    for (let value = 1; value <= 50; value++) log.append(value, { bytes: GROUP_MIN + (value % 3) * 100 });
    expect(await recoverFrom(log)).toEqual({ groups: 50, endLsn: log.lsn, value: 50 });
  });

  it('a group that ends exactly at the end of the ring, and one right after it at the ring start', async () => {
    const ringEnd = Math.ceil(base.checkpointLsn / CAPACITY) * CAPACITY;
    const log = zeroedAfterCheckpoint(new LogBuilder()).appendUpTo(ringEnd);
    const upToEnd = await recoverFrom(log);
    expect(upToEnd).toMatchObject({ endLsn: ringEnd });
    log.append(2);
    expect(log.lsn % CAPACITY).toBe(GROUP_MIN); // it was written at the start of the ring
    expect(await recoverFrom(log)).toMatchObject({ endLsn: ringEnd + GROUP_MIN, value: 2 });
  });

  it('a group wrapped across the end of the ring, its records split', async () => {
    const ringEnd = Math.ceil(base.checkpointLsn / CAPACITY) * CAPACITY;
    const log = zeroedAfterCheckpoint(new LogBuilder())
      .appendUpTo(ringEnd - 100)
      .append(3, { bytes: 400 });
    expect(await recoverFrom(log)).toMatchObject({ endLsn: ringEnd + 300, value: 3 });
  });

  it('a group whose header is split across the end of the ring (LENGTH before, START_LSN after)', async () => {
    const ringEnd = Math.ceil(base.checkpointLsn / CAPACITY) * CAPACITY;
    const log = zeroedAfterCheckpoint(new LogBuilder())
      .appendUpTo(ringEnd - 6)
      .append(4, { bytes: 200 });
    expect(await recoverFrom(log)).toMatchObject({ endLsn: ringEnd + 194, value: 4 });
  });

  it('a short tail: the file ends inside the last group', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const lastStart = log.lsn - GROUP_MIN;
    const image = log.image();
    const files = new Map(image.files);
    files.set(LOG_FILE, log.bytes.slice(0, RING_OFFSET + (lastStart % CAPACITY) + GROUP_MIN - 3));
    expect(await recoverFrom({ files, directories: image.directories })).toEqual({
      groups: 1,
      endLsn: lastStart,
      value: 1,
    });
  });

  it('a trailer: fewer bytes than a group header left in the file', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const image = log.image();
    const files = new Map(image.files);
    files.set(LOG_FILE, log.bytes.slice(0, RING_OFFSET + (log.lsn % CAPACITY) + 10));
    expect(await recoverFrom({ files, directories: image.directories })).toEqual({
      groups: 1,
      endLsn: log.lsn,
      value: 1,
    });
  });

  it('a zero tail: zeros where the next group would be (seed 000)', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const end = log.lsn;
    log.place(end, new Uint8Array(512)); // explicitly zero, whatever was there
    expect(await recoverFrom(log)).toEqual({ groups: 2, endLsn: end, value: 2 });
  });

  it('a partial last group: its header written, its body and checksum zeros', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const end = log.lsn;
    const partial = group(end, 2, { bytes: 600 });
    partial.fill(0, 40);
    log.place(end, partial);
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: end, value: 1 });
  });

  it('a bad checksum at the tail: the end of the log, not an error', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const lastStart = log.lsn - GROUP_MIN;
    log.bytes[RING_OFFSET + (lastStart % CAPACITY) + 30]! ^= 0x01;
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: lastStart, value: 1 });
  });

  it('a bad checksum mid-log, where a later group says the log was durable past it: corruption', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const badStart = log.lsn - GROUP_MIN;
    log.append(3, { durableLsn: log.lsn }); // written after a sync that covered group 2
    log.bytes[RING_OFFSET + (badStart % CAPACITY) + 30]! ^= 0x01;
    const result = await recoverFrom(log);
    expect(result).toBeInstanceOf(CorruptionError);
    expect(String(result)).toMatch(/redo\.log.*fails its checksum although later groups show it was durable/);
  });

  it('a bad checksum mid-log, where the later group does not say so (a reordered write): the end of the log', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const badStart = log.lsn - GROUP_MIN;
    log.append(3, { durableLsn: badStart });
    log.bytes[RING_OFFSET + (badStart % CAPACITY) + 30]! ^= 0x01;
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: badStart, value: 1 });
  });

  it('a valid group of the previous lap where the next group would be: the end of the log', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const end = log.lsn;
    log.place(end, group(end - CAPACITY, 9));
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: end, value: 1 });
  });

  it('a valid group of a later lap where the next group would be: corruption (a newer checkpoint was lost)', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const end = log.lsn;
    log.place(end, group(end + CAPACITY, 9));
    const result = await recoverFrom(log);
    expect(result).toBeInstanceOf(CorruptionError);
    expect(String(result)).toMatch(/newest checkpoint slot is damaged/);
  });

  it('a valid group of this lap written for another position (its START_LSN is not this one): the end of the log', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const end = log.lsn;
    log.place(end, group(end + 512, 9));
    expect(await recoverFrom(log)).toEqual({ groups: 1, endLsn: end, value: 1 });
  });

  it('an absurd LENGTH (too small to hold a record, or larger than the log): the end of the log', async () => {
    for (const length of [
      0,
      GROUP_OVERHEAD_BYTES,
      GROUP_OVERHEAD_BYTES + RECORD_HEADER_BYTES - 1,
      CAPACITY + 1,
      0xffffffff,
    ]) {
      const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
      const end = log.lsn;
      const bad = group(end, 9);
      writeU32(bad, 0, length);
      log.place(end, bad);
      expect(await recoverFrom(log), `LENGTH ${length}`).toEqual({ groups: 1, endLsn: end, value: 1 });
    }
  });

  it('a malformed record inside a group whose checksum matches: corruption (a writer bug), never skipped', async () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1);
    const end = log.lsn;
    const bad = group(end, 9);
    bad[20] = 0x7f; // no such record type
    sealGroup(bad, bad.length, end, base.checkpointLsn);
    log.place(end, bad);
    const result = await recoverFrom(log);
    expect(result).toBeInstanceOf(CorruptionError);
    expect(String(result)).toMatch(/malformed record/);
  });
});

describe('the redo log format: the live reader', () => {
  function readerOn(log: LogBuilder): LogReader {
    return new LogReader(LogFile.open(FaultVfs.fromImage(log.image(), { seed: 3 }), 4096), 1024);
  }

  it('returns the same groups as recovery, then nothing more until more is written', () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2, { bytes: 300 }).append(3);
    const reader = readerOn(log);
    const first = reader.readGroups(base.checkpointLsn, base.checkpointLsn);
    expect(first.groups.map((g) => readU32(g.bytes, 20 + WRITE_BYTES))).toEqual([1, 2, 3]);
    expect(first.nextLsn).toBe(log.lsn);
    expect(reader.readGroups(first.nextLsn, base.checkpointLsn)).toEqual({ groups: [], nextLsn: log.lsn });
  });

  it('reads a group larger than its chunk whole', () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1, { bytes: 3000 });
    const { groups, nextLsn } = readerOn(log).readGroups(base.checkpointLsn, base.checkpointLsn);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.bytes.length).toBe(3000);
    expect(nextLsn).toBe(log.lsn);
  });

  it('refuses a position below the newest checkpoint that the writer has overwritten (R3)', () => {
    const log = zeroedAfterCheckpoint(new LogBuilder()).append(1).append(2);
    const reader = readerOn(log);
    // The position of LSN `checkpoint - capacity` holds this lap's groups: that lap is gone.
    expect(() => reader.readGroups(base.checkpointLsn - CAPACITY, base.checkpointLsn)).toThrow(LogOverwrittenError);
  });
});
