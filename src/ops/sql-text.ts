/**
 * MariaDB's SQL text for a minno table: the `CREATE TABLE` and the value literals that `minno
 * export --format sql` writes, so that MariaDB (InnoDB, the real one) loads them as they are and
 * holds every value exactly.
 *
 * Types (MariaDB 10.x / 11.x, InnoDB, DYNAMIC rows):
 *
 * | minno       | MariaDB                                                  | literal                    |
 * |-------------|----------------------------------------------------------|----------------------------|
 * | `int32`     | INT                                                      | decimal                    |
 * | `int64`     | BIGINT                                                   | decimal (exact)            |
 * | `float64`   | DOUBLE                                                   | `toExponential()` text: shortest form that reads back the same double |
 * | `boolean`   | BOOLEAN (TINYINT(1))                                     | TRUE / FALSE (1 / 0)       |
 * | `string`    | VARCHAR(n) in a key or with maxLength <= 255, else TEXT / MEDIUMTEXT / LONGTEXT, all utf8mb4 with `utf8mb4_bin` | '...' with backslash escapes |
 * | `bytes`     | VARBINARY(n) in a key or with maxLength <= 255, else BLOB / MEDIUMBLOB / LONGBLOB | X'hex' |
 * | `json`      | JSON (LONGTEXT with JSON_VALID; MariaDB keeps the text as written), or LONGTEXT with `jsonType: 'longtext'` | '...' |
 *
 * `utf8mb4_bin` compares by code point, as minno's keys do (key-codec.ts K1): a primary or unique
 * key that is distinct in minno is distinct in MariaDB ('a' and 'A', 'e' and 'é' too).
 *
 * Caveats, where MariaDB cannot hold what minno holds:
 *  - NaN, Infinity and -Infinity have no DOUBLE value in MariaDB: they are written as NULL, and
 *    every float64 column is declared NULL for that reason (a float64 in a key cannot be NaN on
 *    export: the export refuses it with ERR_OUT_OF_RANGE).
 *  - -0 is written as `-0e0`, but MariaDB stores 0 (its parser folds the sign: measured with
 *    10.11 by scripts/test-mariadb.sh, which counts them); `-0 = 0` in both anyway.
 *  - A json value holding a lone surrogate (JSON.stringify writes it as the escape `\ud800`) is
 *    refused by MariaDB's JSON_VALID: the export refuses it too (ERR_OUT_OF_RANGE naming the
 *    column) unless json columns are exported as LONGTEXT (`jsonType: 'longtext'`), which keeps
 *    every text exactly.
 *  - A string key column without maxLength is VARCHAR(768) (3072 bytes of utf8mb4: InnoDB's key
 *    limit); a longer value would be refused by MariaDB's strict mode, loudly.
 *  - maxLength of a TEXT or BLOB column is not enforced by MariaDB.
 */
import { OutOfRangeError } from '../errors.js';
import type { ColumnDef, TableSchema } from '../rec/schema.js';
import type { Cell } from './value-text.js';

/** An identifier in backquotes (a backquote inside is doubled). */
export function sqlName(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

const KEY_VARCHAR_DEFAULT = 768;
const KEY_VARBINARY_DEFAULT = 3072;

export type JsonColumnType = 'json' | 'longtext';

function columnType(column: ColumnDef, inKey: boolean, jsonType: JsonColumnType): string {
  const max = column.maxLength;
  switch (column.type) {
    case 'int32':
      return 'INT';
    case 'int64':
      return 'BIGINT';
    case 'float64':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'json':
      return jsonType === 'json' ? 'JSON' : 'LONGTEXT';
    case 'string':
      if (inKey || (max !== undefined && max <= 255)) return `VARCHAR(${max ?? KEY_VARCHAR_DEFAULT})`;
      return max === undefined ? 'LONGTEXT' : max <= 16383 ? 'TEXT' : max <= 4194303 ? 'MEDIUMTEXT' : 'LONGTEXT';
    case 'bytes':
      if (inKey || (max !== undefined && max <= 255)) return `VARBINARY(${max ?? KEY_VARBINARY_DEFAULT})`;
      return max === undefined ? 'LONGBLOB' : max <= 65535 ? 'BLOB' : max <= 16777215 ? 'MEDIUMBLOB' : 'LONGBLOB';
  }
}

/** The CREATE TABLE statement: columns, primary key, secondary indexes (unique ones too). */
export function createTableSql(schema: TableSchema, jsonType: JsonColumnType = 'json'): string {
  const keyColumns = new Set([...schema.primaryKey, ...schema.indexes.flatMap((index) => index.columns)]);
  const lines = schema.columns.map((column) => {
    // float64 is NULL-able in MariaDB: NaN and the infinities become NULL (see the caveats).
    const nullable =
      column.nullable === true || (column.type === 'float64' && !schema.primaryKey.includes(column.name));
    return `  ${sqlName(column.name)} ${columnType(column, keyColumns.has(column.name), jsonType)} ${nullable ? 'NULL' : 'NOT NULL'}`;
  });
  lines.push(`  PRIMARY KEY (${schema.primaryKey.map(sqlName).join(', ')})`);
  for (const index of schema.indexes) {
    lines.push(
      `  ${index.unique === true ? 'UNIQUE KEY' : 'KEY'} ${sqlName(index.name)} (${index.columns.map(sqlName).join(', ')})`,
    );
  }
  return `CREATE TABLE ${sqlName(schema.name)} (\n${lines.join(',\n')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n`;
}

/** True when a string anywhere in a JSON value (a key too) holds a lone surrogate. */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !(value as unknown as { isWellFormed(): boolean }).isWellFormed();
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, inner]) => hasLoneSurrogate(key) || hasLoneSurrogate(inner));
  }
  return false;
}

/** A string literal for MariaDB's default sql_mode (backslash escapes on). */
export function sqlString(text: string): string {
  let out = "'";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    switch (c) {
      case "'":
        out += "''";
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\0':
        out += '\\0';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\x1a':
        out += '\\Z';
        break;
      default:
        out += c;
    }
  }
  return `${out}'`;
}

/** A value as a MariaDB literal. NaN and the infinities become NULL (see the caveats). */
export function sqlLiteral(
  column: ColumnDef,
  value: Cell | undefined,
  inPrimaryKey: boolean,
  jsonType: JsonColumnType = 'json',
): string {
  if (value === null || value === undefined) return 'NULL';
  switch (column.type) {
    case 'int32':
    case 'int64':
      return String(value);
    case 'float64': {
      const n = value as number;
      if (Number.isFinite(n)) return Object.is(n, -0) ? '-0e0' : n.toExponential();
      if (inPrimaryKey) {
        throw new OutOfRangeError(
          column.name,
          `${String(n)} has no MariaDB DOUBLE value and the column is in the primary key`,
        );
      }
      return 'NULL';
    }
    case 'boolean':
      return value === true ? 'TRUE' : 'FALSE';
    case 'bytes': {
      const bytes = value as Uint8Array;
      return `X'${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}'`;
    }
    case 'json': {
      if (jsonType === 'json' && hasLoneSurrogate(value)) {
        throw new OutOfRangeError(
          column.name,
          "a json value with a lone surrogate, which MariaDB's JSON_VALID refuses; export json columns as LONGTEXT (--json-type longtext) to keep it exactly",
        );
      }
      return sqlString(JSON.stringify(value));
    }
    default:
      return sqlString(value as string);
  }
}
