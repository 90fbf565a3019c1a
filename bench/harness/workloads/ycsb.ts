/**
 * YCSB's core workloads A to F (site.ycsb.workloads.CoreWorkload and the `workloads/workload[a-f]`
 * property files), with their defaults:
 *
 *   workload  mix                                   request distribution
 *   A         read 0.5, update 0.5                  zipfian
 *   B         read 0.95, update 0.05                zipfian
 *   C         read 1.0                              zipfian
 *   D         read 0.95, insert 0.05                latest
 *   E         scan 0.95, insert 0.05                zipfian (scan length uniform 1..100)
 *   F         read 0.5, read-modify-write 0.5       zipfian
 *
 * The table is `usertable`: the key `YCSB_KEY` and `fieldcount` (10) fields FIELD0.. of
 * `fieldlength` (100) random characters. Records 0 .. recordcount - 1 are loaded; a record's key
 * is `"user"` followed by the FNV-64 hash of its number (insertorder=hashed, the default), so keys
 * are in no particular order. Reads read every field (readallfields=true); updates write one
 * field (writeallfields=false); inserts take the next number of the insert key sequence; a chosen
 * key number beyond the last finished insert is drawn again, as YCSB does.
 */
import { Random, STREAM } from '../random.js';
import { fnv64Decimal } from './fnv64.js';
import {
  AcknowledgedCounter,
  ScrambledZipfianGenerator,
  SkewedLatestGenerator,
  UniformGenerator,
  type KeyGenerator,
} from './ycsb-generators.js';

export const YCSB_WORKLOADS = ['ycsb-a', 'ycsb-b', 'ycsb-c', 'ycsb-d', 'ycsb-e', 'ycsb-f'] as const;
export type YcsbWorkloadName = (typeof YCSB_WORKLOADS)[number];

export const REQUEST_DISTRIBUTIONS = ['zipfian', 'uniform', 'latest'] as const;
export type RequestDistribution = (typeof REQUEST_DISTRIBUTIONS)[number];

export interface YcsbMix {
  readonly read: number;
  readonly update: number;
  readonly insert: number;
  readonly scan: number;
  readonly readModifyWrite: number;
  readonly distribution: RequestDistribution;
}

export const YCSB_MIXES: Readonly<Record<YcsbWorkloadName, YcsbMix>> = {
  'ycsb-a': { read: 0.5, update: 0.5, insert: 0, scan: 0, readModifyWrite: 0, distribution: 'zipfian' },
  'ycsb-b': { read: 0.95, update: 0.05, insert: 0, scan: 0, readModifyWrite: 0, distribution: 'zipfian' },
  'ycsb-c': { read: 1, update: 0, insert: 0, scan: 0, readModifyWrite: 0, distribution: 'zipfian' },
  'ycsb-d': { read: 0.95, update: 0, insert: 0.05, scan: 0, readModifyWrite: 0, distribution: 'latest' },
  'ycsb-e': { read: 0, update: 0, insert: 0.05, scan: 0.95, readModifyWrite: 0, distribution: 'zipfian' },
  'ycsb-f': { read: 0.5, update: 0, insert: 0, scan: 0, readModifyWrite: 0.5, distribution: 'zipfian' },
};

export const YCSB_DESCRIPTIONS: Readonly<Record<YcsbWorkloadName, string>> = {
  'ycsb-a': 'update heavy: 50% reads, 50% one-field updates, zipfian keys',
  'ycsb-b': 'read mostly: 95% reads, 5% updates, zipfian keys',
  'ycsb-c': 'read only, zipfian keys',
  'ycsb-d': 'read latest: 95% reads of recent inserts, 5% inserts',
  'ycsb-e': 'short ranges: 95% scans of 1-100 records, 5% inserts',
  'ycsb-f': 'read-modify-write: 50% reads, 50% read then update one field',
};

export interface YcsbOptions {
  readonly recordcount: number;
  readonly operationcount: number;
  readonly fieldcount: number;
  readonly fieldlength: number;
  readonly maxscanlength: number;
  /** Overrides the workload's own distribution when set. */
  readonly requestdistribution: RequestDistribution | undefined;
}

/** The defaults of YCSB's workload files. */
export const YCSB_DEFAULTS: YcsbOptions = {
  recordcount: 1000,
  operationcount: 1000,
  fieldcount: 10,
  fieldlength: 100,
  maxscanlength: 100,
  requestdistribution: undefined,
};

export const USERTABLE = 'usertable';
export const KEY_FIELD = 'YCSB_KEY';

/** FIELD0, FIELD1, ... */
export function fieldNames(fieldcount: number): string[] {
  return Array.from({ length: fieldcount }, (_, i) => `FIELD${i}`);
}

/** A record: its key and its field values, in field order. */
export interface YcsbRecord {
  readonly key: string;
  readonly fields: readonly string[];
}

/** `"user" + fnvhash64(keynum)`: YCSB's key name with insertorder=hashed and zeropadding=1. */
export function ycsbKey(keynum: number): string {
  return `user${fnv64Decimal(keynum)}`;
}

/** Record `keynum` as the load phase makes it (its values from a stream of its own). */
export function ycsbRecord(
  seed: number,
  keynum: number,
  options: Pick<YcsbOptions, 'fieldcount' | 'fieldlength'>,
): YcsbRecord {
  const random = new Random(seed, STREAM.record, keynum);
  const fields: string[] = [];
  for (let f = 0; f < options.fieldcount; f++) fields.push(random.ascii(options.fieldlength));
  return { key: ycsbKey(keynum), fields };
}

/** Bytes of one record as the application hands it over: the raw data size. */
export function ycsbRecordBytes(options: Pick<YcsbOptions, 'fieldcount' | 'fieldlength'>): number {
  return 4 + 20 + options.fieldcount * options.fieldlength;
}

export type YcsbOperation =
  | { readonly op: 'read'; readonly key: string }
  | { readonly op: 'update'; readonly key: string; readonly field: number; readonly value: string }
  | { readonly op: 'insert'; readonly keynum: number; readonly record: YcsbRecord }
  | { readonly op: 'scan'; readonly key: string; readonly count: number }
  | { readonly op: 'read-modify-write'; readonly key: string; readonly field: number; readonly value: string };

/** State shared by every client of one run: the insert key sequence and the key chooser. */
export class YcsbRun {
  readonly options: YcsbOptions;
  readonly mix: YcsbMix;
  readonly inserts: AcknowledgedCounter;
  private readonly keys: KeyGenerator;
  private readonly weights: readonly (readonly [YcsbOperation['op'], number])[];

  constructor(name: YcsbWorkloadName, options: YcsbOptions) {
    this.options = options;
    this.mix = YCSB_MIXES[name];
    this.inserts = new AcknowledgedCounter(options.recordcount);
    const distribution = options.requestdistribution ?? this.mix.distribution;
    if (distribution === 'latest') {
      this.keys = new SkewedLatestGenerator(this.inserts);
    } else if (distribution === 'uniform') {
      this.keys = new UniformGenerator(0, options.recordcount - 1);
    } else {
      // YCSB sizes the scrambled zipfian for the inserts it expects, twice over.
      const expectedNewKeys = Math.floor(options.operationcount * this.mix.insert * 2);
      this.keys = new ScrambledZipfianGenerator(0, options.recordcount + expectedNewKeys);
    }
    // YCSB's operation chooser adds them in this order.
    this.weights = (
      [
        ['read', this.mix.read],
        ['update', this.mix.update],
        ['insert', this.mix.insert],
        ['scan', this.mix.scan],
        ['read-modify-write', this.mix.readModifyWrite],
      ] as const
    ).filter(([, weight]) => weight > 0);
  }

  /** A key number that exists: drawn again while beyond the last finished insert. */
  private keynum(random: Random): number {
    for (;;) {
      const keynum = this.keys.next(random);
      if (keynum <= this.inserts.lastValue()) return keynum;
    }
  }

  /** One client's next operation, drawn from its stream. */
  next(random: Random): YcsbOperation {
    let u = random.float();
    let op = this.weights[this.weights.length - 1]![0];
    for (const [name, weight] of this.weights) {
      if (u < weight) {
        op = name;
        break;
      }
      u -= weight;
    }
    const { fieldcount, fieldlength, maxscanlength } = this.options;
    switch (op) {
      case 'read':
        return { op, key: ycsbKey(this.keynum(random)) };
      case 'scan': {
        const key = ycsbKey(this.keynum(random));
        return { op, key, count: random.int(1, maxscanlength) };
      }
      case 'insert': {
        const keynum = this.inserts.next();
        const fields: string[] = [];
        for (let f = 0; f < fieldcount; f++) fields.push(random.ascii(fieldlength));
        return { op, keynum, record: { key: ycsbKey(keynum), fields } };
      }
      case 'update':
      case 'read-modify-write': {
        const key = ycsbKey(this.keynum(random));
        return { op, key, field: random.int(0, fieldcount - 1), value: random.ascii(fieldlength) };
      }
    }
  }
}
