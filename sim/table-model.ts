/**
 * The model of the table workload (table-workload.ts): a bank.
 *
 *   accounts (id PK, owner, balance)       secondary indexes by_owner (owner), by_balance (balance)
 *   journal  (id PK, kind, a, b, amount, ref)   unique index by_ref (ref), secondary by_a (a)
 *
 * Every action a transaction makes (a transfer, opening, renaming or closing an account) writes its
 * rows and one journal row, so which commits a recovered database holds is read off the journal,
 * and the balances, owners and journal must then be exactly the model after that prefix. Transfers
 * conserve the total balance; an account is closed only at balance 0.
 *
 * An effect carries what the transaction's locking reads returned; applying it to the committed
 * state at commit checks that the reads saw the last committed values (the row locks serialise).
 */

export interface AccountRow {
  [column: string]: number | string;
  id: number;
  owner: string;
  balance: number;
}

export interface JournalRow {
  [column: string]: number | string;
  id: number;
  kind: string;
  a: number;
  b: number;
  amount: number;
  ref: string;
}

export const OWNERS = ['ann', 'bob', 'cy', 'dee', 'eve', 'flo'] as const;
export const INITIAL_BALANCE = 1000;

export type Effect =
  | { readonly t: 'transfer'; readonly jid: number; readonly from: number; readonly to: number; readonly amount: number; readonly fromRead: number; readonly toRead: number }
  | { readonly t: 'open'; readonly jid: number; readonly id: number; readonly owner: string }
  | { readonly t: 'rename'; readonly jid: number; readonly id: number; readonly owner: string }
  | { readonly t: 'close'; readonly jid: number; readonly id: number };

export function journalRowOf(effect: Effect): JournalRow {
  switch (effect.t) {
    case 'transfer':
      return { id: effect.jid, kind: 'transfer', a: effect.from, b: effect.to, amount: effect.amount, ref: `r${effect.jid}` };
    case 'open':
    case 'rename':
    case 'close':
      return { id: effect.jid, kind: effect.t, a: effect.id, b: 0, amount: 0, ref: `r${effect.jid}` };
  }
}

export class BankState {
  readonly accounts = new Map<number, { owner: string; balance: number }>();
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
        this.accounts.set(effect.id, { owner: effect.owner, balance: 0 });
        break;
      case 'rename': {
        const account = this.accounts.get(effect.id);
        if (account === undefined) problem = `renamed account ${effect.id}, which is not committed`;
        else account.owner = effect.owner;
        break;
      }
      case 'close': {
        const account = this.accounts.get(effect.id);
        if (account === undefined || account.balance !== 0) problem = `closed account ${effect.id} at balance 0; the committed balance is ${account?.balance}`;
        this.accounts.delete(effect.id);
        break;
      }
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

  accountsText(): string {
    return this.accountIds()
      .map((id) => accountText({ id, ...this.accounts.get(id)! }))
      .join('|');
  }

  journalText(): string {
    return [...this.journal.keys()]
      .sort((a, b) => a - b)
      .map((id) => journalText(this.journal.get(id)!))
      .join('|');
  }
}

export function accountText(row: AccountRow): string {
  return `${row.id}:${row.owner}:${row.balance}`;
}

export function journalText(row: JournalRow): string {
  return `${row.id}:${row.kind}:${row.a}:${row.b}:${row.amount}:${row.ref}`;
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
