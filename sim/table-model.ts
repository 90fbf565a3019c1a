/**
 * The model of the table workload (table-workload.ts): a bank.
 *
 *   accounts (id PK, owner, balance, code, memo)
 *     by_owner (owner)   by_balance (balance)   by_owner_balance (owner, balance)   by_code UNIQUE (code)
 *   journal  (id PK, kind, a, b, amount, ref, note)
 *     by_ref UNIQUE (ref)   by_a (a)   by_kind_amount (kind, amount)
 *
 * Every action a transaction makes (a transfer, opening, renaming or closing an account) writes its
 * rows and one journal row, so which commits a recovered database holds is read off the journal,
 * and the balances, owners and journal must then be exactly the model after that prefix. Transfers
 * conserve the total balance; an account is closed only at balance 0.
 *
 * Updates move rows between index keys: a transfer changes `balance` (by_balance, by_owner_balance)
 * and `memo`; a rename changes `owner` and `code` (by_owner, by_owner_balance and the unique
 * by_code). `code` and `memo` are functions of the other columns, so the model stores only owner
 * and balance. `memo` is empty for about one balance in eight (an old value of '' must come back as
 * '', never as NULL: seed 003's family) and otherwise 1 to 700 characters, so an update may shrink
 * a record in place, grow it past its slot, or split its page. `note` makes journal rows fat, and
 * the set-up writes enough of them that the data outgrows the buffer pool (pool pressure in every
 * phase: eviction, flushing and re-reads during runs, recovery and purge).
 *
 * Large values: `doc` (bytes) is 64 to 263 bytes for about one account in four (kept in the row)
 * and 2 to 6 KB otherwise (on LOB pages: src/lob/, one or two 4 KiB slots). Opening and renaming an account write a new
 * doc whole (a new LOB; the old one stays for older readers until purge); a 'patch' action changes
 * it in place with `updatePartial`: one to three diffs of 0 to 400 bytes (zero often, as seed 003's
 * JSON_REMOVE made), so both small changes (undo diffs, LOB-DIFF) and larger ones (new LOB
 * versions) happen, and readers at older views must get every old doc back byte for byte. A doc is
 * compared whole, by its length and a hash of all its bytes (`docText`).
 *
 * An effect carries what the transaction's locking reads returned; applying it to the committed
 * state at commit checks that the reads saw the last committed values (the row locks serialise).
 */
import { createHash } from 'node:crypto';
import type { TableSchema } from '../src/rec/schema.js';

export interface AccountRow {
  [column: string]: number | string | Uint8Array;
  id: number;
  owner: string;
  balance: number;
  code: string;
  memo: string;
  doc: Uint8Array;
}

/** What the model keeps of an account. */
export interface AccountState {
  owner: string;
  balance: number;
  doc: Uint8Array;
}

/** One diff of a partial update: `bytes` replace as many bytes at `offset`. */
export interface DocDiff {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface JournalRow {
  [column: string]: number | string;
  id: number;
  kind: string;
  a: number;
  b: number;
  amount: number;
  ref: string;
  note: string;
}

export const OWNERS = ['ann', 'bob', 'cy', 'dee', 'eve', 'flo'] as const;
export const INITIAL_BALANCE = 1000;
const MEMO_LENGTH_MAX = 700;

export const ACCOUNTS: TableSchema = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'owner', type: 'string', maxLength: 16 },
    { name: 'balance', type: 'int32' },
    { name: 'code', type: 'string', maxLength: 24 },
    { name: 'memo', type: 'string', maxLength: MEMO_LENGTH_MAX },
    { name: 'doc', type: 'bytes' },
  ],
  primaryKey: ['id'],
  indexes: [
    { name: 'by_owner', columns: ['owner'] },
    { name: 'by_balance', columns: ['balance'] },
    { name: 'by_owner_balance', columns: ['owner', 'balance'] },
    { name: 'by_code', columns: ['code'], unique: true },
  ],
};

export const JOURNAL: TableSchema = {
  name: 'journal',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'kind', type: 'string', maxLength: 16 },
    { name: 'a', type: 'int32' },
    { name: 'b', type: 'int32' },
    { name: 'amount', type: 'int32' },
    { name: 'ref', type: 'string', maxLength: 16 },
    { name: 'note', type: 'string', maxLength: 1200 },
  ],
  primaryKey: ['id'],
  indexes: [
    { name: 'by_ref', columns: ['ref'], unique: true },
    { name: 'by_a', columns: ['a'] },
    { name: 'by_kind_amount', columns: ['kind', 'amount'] },
  ],
};

export type Effect =
  | {
      readonly t: 'transfer';
      readonly jid: number;
      readonly from: number;
      readonly to: number;
      readonly amount: number;
      readonly fromRead: number;
      readonly toRead: number;
    }
  | { readonly t: 'open'; readonly jid: number; readonly id: number; readonly owner: string }
  | { readonly t: 'rename'; readonly jid: number; readonly id: number; readonly owner: string }
  | {
      readonly t: 'patch';
      readonly jid: number;
      readonly id: number;
      readonly diffs: readonly DocDiff[];
      /** `docText` of the doc the locking read returned. */
      readonly docRead: string;
    }
  | { readonly t: 'close'; readonly jid: number; readonly id: number }
  | { readonly t: 'seed'; readonly jid: number };

/** A mixing hash of two integers (deterministic column contents). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

function text(seed: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 8) out += (mix(seed, i) % 2 ** 31).toString(36).padStart(8, 'z');
  return out.slice(0, length);
}

export function codeOf(id: number, owner: string): string {
  return `${owner}#${id}`;
}

const memos = new Map<string, string>();
const notes = new Map<number, string>();

export function memoOf(id: number, balance: number): string {
  const key = `${id}:${balance}`;
  let memo = memos.get(key);
  if (memo === undefined) {
    const h = mix(id, balance);
    memo = h % 8 === 0 ? '' : text(h, 1 + (h % MEMO_LENGTH_MAX));
    if (memos.size > 100_000) memos.clear();
    memos.set(key, memo);
  }
  return memo;
}

export function noteOf(jid: number): string {
  let note = notes.get(jid);
  if (note === undefined) {
    const h = mix(jid, -1);
    note = text(h, 80 + (h % 1000));
    if (notes.size > 100_000) notes.clear();
    notes.set(jid, note);
  }
  return note;
}

const docs = new Map<string, Uint8Array>();

/** The doc an account gets when opened (`seed` its journal id, 0 at set-up) or renamed. */
export function docOf(id: number, seed: number): Uint8Array {
  const key = `${id}:${seed}`;
  let doc = docs.get(key);
  if (doc === undefined) {
    const h = mix(id, seed ^ 0x5bd1e995);
    const length = h % 4 === 0 ? 64 + (h % 200) : 2_000 + (h % 4_000);
    doc = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = mix(h, i);
      for (let j = 0; j < 4 && i + j < length; j++) doc[i + j] = word >>> (8 * j);
    }
    if (docs.size > 10_000) docs.clear();
    docs.set(key, doc);
  }
  return doc;
}

/** The diffs of patch `jid` on a doc of `length` bytes: one to three, of 0 to 400 bytes (zero often). */
export function docDiffs(jid: number, length: number): DocDiff[] {
  const h = mix(jid, -7);
  const diffs: DocDiff[] = [];
  for (let k = 0; k <= h % 3; k++) {
    const r = mix(h, k);
    const pick = r % 10;
    const size = Math.min(length, pick < 3 ? 0 : pick < 8 ? 1 + (r % 60) : 101 + (r % 300));
    const offset = mix(r, 1) % (length - size + 1);
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = mix(r, i + 2);
    diffs.push({ offset, bytes });
  }
  return diffs;
}

/** A doc with diffs applied in order (a copy). */
export function patched(doc: Uint8Array, diffs: readonly DocDiff[]): Uint8Array {
  const out = doc.slice();
  for (const diff of diffs) out.set(diff.bytes, diff.offset);
  return out;
}

const docTexts = new WeakMap<Uint8Array, string>();

/** A doc as text: its length and a hash of every byte (a changed byte anywhere shows). */
export function docText(doc: Uint8Array): string {
  let text = docTexts.get(doc);
  if (text === undefined) {
    text = `${doc.length}/${createHash('md5').update(doc).digest('hex').slice(0, 16)}`;
    docTexts.set(doc, text);
  }
  return text;
}

export function accountRowOf(id: number, account: AccountState): AccountRow {
  return {
    id,
    owner: account.owner,
    balance: account.balance,
    code: codeOf(id, account.owner),
    memo: memoOf(id, account.balance),
    doc: account.doc,
  };
}

export function journalRowOf(effect: Effect): JournalRow {
  const note = noteOf(effect.jid);
  switch (effect.t) {
    case 'transfer':
      return {
        id: effect.jid,
        kind: 'transfer',
        a: effect.from,
        b: effect.to,
        amount: effect.amount,
        ref: `r${effect.jid}`,
        note,
      };
    case 'open':
    case 'rename':
    case 'close':
    case 'patch':
      return { id: effect.jid, kind: effect.t, a: effect.id, b: 0, amount: 0, ref: `r${effect.jid}`, note };
    case 'seed':
      return {
        id: effect.jid,
        kind: 'seed',
        a: effect.jid % 7,
        b: 0,
        amount: effect.jid % 13,
        ref: `r${effect.jid}`,
        note,
      };
  }
}

/** Compares two column values in the order index keys sort them (numbers, then strings by code point). */
function compareValues(a: number | string | Uint8Array, b: number | string | Uint8Array): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Rows in the order of an index of `schema`: its columns, then the primary key. */
export function sortByIndex<R extends Record<string, number | string | Uint8Array>>(
  rows: R[],
  schema: TableSchema,
  index: string,
): R[] {
  const def = schema.indexes?.find((i) => i.name === index);
  if (def === undefined) throw new Error(`no index ${index} on ${schema.name}`);
  const columns = [...def.columns, ...schema.primaryKey];
  return rows.sort((a, b) => {
    for (const column of columns) {
      const order = compareValues(a[column]!, b[column]!);
      if (order !== 0) return order;
    }
    return 0;
  });
}

export class BankState {
  readonly accounts = new Map<number, AccountState>();
  readonly journal = new Map<number, JournalRow>();

  clone(): BankState {
    const copy = new BankState();
    for (const [id, account] of this.accounts) copy.accounts.set(id, { ...account });
    for (const [id, row] of this.journal) copy.journal.set(id, row);
    return copy;
  }

  /** Applies one effect; returns what disagreed with the transaction's reads (undefined when all did). */
  apply(effect: Effect): string | undefined {
    let problem: string | undefined;
    switch (effect.t) {
      case 'transfer': {
        const from = this.accounts.get(effect.from);
        const to = this.accounts.get(effect.to);
        if (from === undefined || to === undefined) {
          problem = `transfer ${effect.jid} between accounts ${effect.from} and ${effect.to}, one of which is not committed`;
          break;
        }
        if (from.balance !== effect.fromRead || to.balance !== effect.toRead) {
          problem = `transfer ${effect.jid} read balances ${effect.fromRead}/${effect.toRead} under X locks; the committed balances were ${from.balance}/${to.balance}`;
        }
        from.balance = effect.fromRead - effect.amount;
        to.balance = effect.toRead + effect.amount;
        break;
      }
      case 'open':
        if (this.accounts.has(effect.id)) problem = `account ${effect.id} opened twice`;
        this.accounts.set(effect.id, { owner: effect.owner, balance: 0, doc: docOf(effect.id, effect.jid) });
        break;
      case 'rename': {
        const account = this.accounts.get(effect.id);
        if (account === undefined) problem = `renamed account ${effect.id}, which is not committed`;
        else {
          account.owner = effect.owner;
          account.doc = docOf(effect.id, effect.jid); // replaced whole: a new LOB
        }
        break;
      }
      case 'patch': {
        const account = this.accounts.get(effect.id);
        if (account === undefined) {
          problem = `patched account ${effect.id}, which is not committed`;
          break;
        }
        if (docText(account.doc) !== effect.docRead)
          problem = `patch ${effect.jid} read doc ${effect.docRead} under an X lock; the committed doc is ${docText(account.doc)}`;
        account.doc = patched(account.doc, effect.diffs);
        break;
      }
      case 'close': {
        const account = this.accounts.get(effect.id);
        if (account === undefined || account.balance !== 0)
          problem = `closed account ${effect.id} at balance 0; the committed balance is ${account?.balance}`;
        this.accounts.delete(effect.id);
        break;
      }
      case 'seed':
        break;
    }
    this.journal.set(effect.jid, journalRowOf(effect));
    return problem;
  }

  totalBalance(): number {
    let total = 0;
    for (const account of this.accounts.values()) total += account.balance;
    return total;
  }

  /** Ids of the committed accounts, ascending. */
  accountIds(): number[] {
    return [...this.accounts.keys()].sort((a, b) => a - b);
  }

  accountRows(): AccountRow[] {
    return this.accountIds().map((id) => accountRowOf(id, this.accounts.get(id)!));
  }

  journalRows(): JournalRow[] {
    return [...this.journal.keys()].sort((a, b) => a - b).map((id) => this.journal.get(id)!);
  }

  accountsText(): string {
    return this.accountRows().map(accountText).join('|');
  }

  journalText(): string {
    return this.journalRows().map(journalText).join('|');
  }
}

/** A row as text, every column whole (the memo and the note too: a changed byte anywhere shows). */
export function accountText(row: AccountRow): string {
  return `${row.id}:${row.owner}:${row.balance}:${row.code}:${row.memo}:${docText(row.doc)}`;
}

const journalTexts = new WeakMap<JournalRow, string>();

/** A journal row as text; the model's rows are immutable objects, so their texts are kept. */
export function journalText(row: JournalRow): string {
  let text = journalTexts.get(row);
  if (text === undefined) {
    text = `${row.id}:${row.kind}:${row.a}:${row.b}:${row.amount}:${row.ref}:${row.note}`;
    journalTexts.set(row, text);
  }
  return text;
}

/** FNV-1a of a string, as 8 hex digits (fingerprints of recovered states). */
export function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
