/**
 * The `accounts` table of the mvcc recovery tests (id, balance, an index on balance): the smallest
 * table whose updates move a secondary entry, shared so each test says only its story.
 */
import type { TableSchema } from '../../src/rec/schema.js';

export interface Account {
  [column: string]: number;
  id: number;
  balance: number;
}

export const ACCOUNTS: TableSchema = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'balance', type: 'int32' },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_balance', columns: ['balance'] }],
};
