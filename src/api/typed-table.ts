/**
 * Typed tables: the TypeScript types of a table's rows, keys and indexes, computed from its schema
 * declared `as const` (or passed inline), with no hand-written row type. The way Kysely and
 * Drizzle users expect: the schema is the single source of truth and the compiler checks every
 * row, key, index name and index key against it.
 *
 *     const users = {
 *       name: 'users',
 *       columns: [
 *         { name: 'id', type: 'int64' },
 *         { name: 'email', type: 'string' },
 *         { name: 'nick', type: 'string', nullable: true },
 *       ],
 *       primaryKey: ['id'],
 *       indexes: [{ name: 'by_email', columns: ['email'], unique: true }],
 *     } as const;
 *     await db.createTable(users);
 *     const t = db.table(users); // and tx.table(users), snapshot.table(users)
 *     t.get(1n);                     // key: bigint | number
 *     t.getByIndex('by_email', 'a'); // index names and index keys checked
 *     await t.insert({ id: 1n, email: 'a' }); // `nick` may be left out (NULL)
 *
 * Types only: nothing here exists at run time, and the engine checks every value whatever the
 * types said (a JavaScript caller has none). The mapping follows the column table of
 * `rec/schema.ts`: int64 reads back as bigint and also takes a safe-integer number; a nullable
 * column reads back as `T | null` and may be left out of an insert; json holds a `JsonValue`.
 * A composite key is a tuple in primary-key order; a range bound may give a prefix of it.
 */
import type { ColumnType, JsonValue, KeyValue } from '../rec/schema.js';
import type { Row } from '../rec/row-format.js';
import type { KeyInput } from '../row/keys.js';

/** What a column of each type reads back as. */
export interface ColumnReadTypes {
  int32: number;
  int64: bigint;
  float64: number;
  boolean: boolean;
  string: string;
  bytes: Uint8Array;
  json: JsonValue;
}

/** What a column of each type takes (int64 also takes a safe-integer number). */
export interface ColumnWriteTypes extends Omit<ColumnReadTypes, 'int64'> {
  int64: bigint | number;
}

/** The shape of a column definition the types read: a name, a type, and whether it is nullable. */
export interface ColumnShape {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable?: boolean;
}

/** The shape of a schema the types read (`TableDefinition` and `TableSchema` both have it). */
export interface SchemaShape {
  readonly name: string;
  readonly columns: readonly ColumnShape[];
  readonly primaryKey: readonly string[];
  readonly indexes?: readonly { readonly name: string; readonly columns: readonly string[] }[];
}

type ColumnsOf<S extends SchemaShape> = S['columns'][number];
/** The names of the columns of `S`. */
export type ColumnName<S extends SchemaShape> = ColumnsOf<S>['name'];
type ColumnNamed<S extends SchemaShape, N> = Extract<ColumnsOf<S>, { readonly name: N }>;
type Nullable<C extends ColumnShape> = C extends { readonly nullable: true } ? null : never;

type ReadValue<C extends ColumnShape> = ColumnReadTypes[C['type']] | Nullable<C>;
type WriteValue<C extends ColumnShape> = ColumnWriteTypes[C['type']] | Nullable<C>;

/** A row of `S` as reads return it: every column, nullable ones as `T | null`. */
export type RowOf<S extends SchemaShape> = {
  -readonly [C in ColumnsOf<S> as C['name']]: ReadValue<C>;
};

/** A row of `S` as `insert` takes it: nullable columns may be left out (they become NULL). */
export type InsertRowOf<S extends SchemaShape> = {
  -readonly [C in ColumnsOf<S> as C extends { readonly nullable: true } ? never : C['name']]: WriteValue<C>;
} & {
  -readonly [C in ColumnsOf<S> as C extends { readonly nullable: true } ? C['name'] : never]?: WriteValue<C>;
};

/** The values of the columns `names` of `S`, in order: a key's tuple. */
type KeyTuple<S extends SchemaShape, Names extends readonly string[]> = {
  -readonly [I in keyof Names]: ColumnWriteTypes[ColumnNamed<S, Names[I]>['type']] & KeyValue;
};

/** A key over `names`: the value itself for one column, the tuple for several. */
type KeyOver<S extends SchemaShape, Names extends readonly string[]> = Names extends readonly [infer Only]
  ? ColumnWriteTypes[ColumnNamed<S, Only>['type']] & KeyValue
  : KeyTuple<S, Names>;

/** The leading parts of a tuple key (a range bound may give any non-empty prefix). */
type Prefixes<T extends readonly unknown[]> = T extends readonly [...infer Head, unknown]
  ? T | (Head extends readonly [] ? never : Prefixes<Head>)
  : T;

/** A bound on a key over `names`: the whole key, or (composite) a prefix of it. */
type BoundOver<S extends SchemaShape, Names extends readonly string[]> = Names extends readonly [unknown]
  ? KeyOver<S, Names>
  : Prefixes<KeyTuple<S, Names>> | (ColumnWriteTypes[ColumnNamed<S, Names[0]>['type']] & KeyValue);

type IndexesOf<S extends SchemaShape> = S extends {
  readonly indexes: readonly (infer I extends { readonly name: string; readonly columns: readonly string[] })[];
}
  ? I
  : never;

/** The names of the secondary indexes of `S`. */
export type IndexName<S extends SchemaShape> = IndexesOf<S>['name'];

/**
 * The types a table handle checks against: the row reads return, the row `insert` takes, the
 * primary key and its range bounds, and each index's key (its columns; a prefix for a bound).
 */
export interface TableTypes {
  readonly row: Row;
  readonly insert: Row;
  readonly key: KeyInput;
  readonly bound: KeyInput;
  readonly indexes: { readonly [index: string]: KeyInput };
}

/** The types of a table known only by name: any row, any key, any index. */
export interface UntypedTable<R extends Row> extends TableTypes {
  readonly row: R;
  readonly insert: R;
  readonly key: KeyInput;
  readonly bound: KeyInput;
  readonly indexes: { readonly [index: string]: KeyInput };
}

/** The types of the table `S` describes. */
export interface TypesOf<S extends SchemaShape> extends TableTypes {
  readonly row: RowOf<S>;
  readonly insert: InsertRowOf<S>;
  readonly key: KeyOver<S, S['primaryKey']>;
  readonly bound: BoundOver<S, S['primaryKey']>;
  readonly indexes: {
    readonly [I in IndexesOf<S> as I['name']]: BoundOver<S, I['columns']>;
  };
}

/**
 * The checks a schema passes before it can give a typed handle: its key and index columns are
 * its own columns. (`createTable` checks the same at run time, with ERR_INVALID_SCHEMA.)
 */
export type CheckedSchema<S extends SchemaShape> = S & {
  readonly primaryKey: readonly ColumnName<S>[];
  readonly indexes?: readonly {
    readonly name: string;
    readonly columns: readonly ColumnName<S>[];
    readonly unique?: boolean;
  }[];
};
