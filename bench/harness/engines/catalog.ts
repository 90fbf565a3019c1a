/**
 * The engines a run may name, how to load each adapter, and whether its package is installed.
 *
 * Adapters are loaded on demand (dynamic import), and each adapter imports its engine's package
 * only when it opens a database, so a machine without, say, lmdb runs every other engine; naming
 * an engine that is not installed is a usage error with the command that installs it.
 *
 * An engine on the command line may carry options: `minno:pool=10%` (a buffer pool a tenth of the
 * bytes the loaded tables take in minno's tablespaces), `minno:pool=256MiB`. Without one, minno's
 * pool holds the data (`minnoPoolBytes`). The label (`minno:pool=10%`) names the variant in the
 * report.
 */
import { ENGINE_KINDS, isEngineKind, type EngineAdapter, type EngineKind } from './engine.js';

export async function loadAdapter(kind: EngineKind): Promise<EngineAdapter> {
  switch (kind) {
    case 'minno':
      return (await import('./minno.js')).minno;
    case 'better-sqlite3':
      return (await import('./better-sqlite3.js')).betterSqlite3;
    case 'lmdb':
      return (await import('./lmdb.js')).lmdb;
    case 'classic-level':
      return (await import('./classic-level.js')).classicLevel;
    case 'sql.js':
      return (await import('./sql-js.js')).sqlJs;
  }
}

/**
 * Why the engine cannot run here (its package is missing or does not load), or undefined when it
 * can. Loads the package (and for better-sqlite3 its native binding) without opening a database
 * on disk.
 */
export async function unavailableReason(kind: EngineKind): Promise<string | undefined> {
  try {
    switch (kind) {
      case 'minno':
        return undefined;
      case 'better-sqlite3': {
        const { default: Database } = await import('better-sqlite3');
        new Database(':memory:').close();
        return undefined;
      }
      case 'lmdb':
        await import('lmdb');
        return undefined;
      case 'classic-level':
        await import('classic-level');
        return undefined;
      case 'sql.js':
        await import('sql.js');
        return undefined;
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      return `${kind} is not installed (npm install --save-dev ${kind})`;
    return `${kind} does not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}

/** A buffer pool for a minno variant: a share of the data's bytes, or a size. */
export type PoolSetting = { readonly percent: number } | { readonly bytes: number };

export interface EngineVariant {
  /** As written on the command line, and as the report names it. */
  readonly label: string;
  readonly kind: EngineKind;
  readonly pool?: PoolSetting;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `256MiB`, `1g`, `65536`: bytes, or undefined if it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match === null ? undefined : SIZE_UNITS[match[2]!.toLowerCase()];
  if (match === null || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/** Parses `kind` or `kind:option=value,...`; throws a message for the user when it is wrong. */
export function parseEngineVariant(spec: string): EngineVariant {
  const [kind, options] = spec.split(':', 2) as [string, string | undefined];
  if (!isEngineKind(kind)) throw new Error(`unknown engine '${kind}': use ${ENGINE_KINDS.join(', ')}`);
  if (options === undefined || options === '') return { label: kind, kind };
  let pool: PoolSetting | undefined;
  for (const option of options.split(',')) {
    const [name, value = ''] = option.split('=', 2) as [string, string | undefined];
    if (kind !== 'minno' || name !== 'pool')
      throw new Error(
        `engine option '${option}' is not known: only minno takes one (minno:pool=10% or minno:pool=256MiB)`,
      );
    if (value.endsWith('%')) {
      const percent = Number(value.slice(0, -1));
      if (!(percent > 0 && percent <= 1000))
        throw new Error(`minno:pool=${value}: a percentage must be above 0 and at most 1000`);
      pool = { percent };
    } else {
      const bytes = parseSize(value);
      if (bytes === undefined || bytes <= 0)
        throw new Error(`minno:pool=${value}: give a percentage of the data (10%) or a size (256MiB)`);
      pool = { bytes };
    }
  }
  return { label: spec, kind, ...(pool === undefined ? {} : { pool }) };
}

/** minno's smallest pool: 64 pages of 16 KiB (it refuses fewer). */
export const MINNO_POOL_BYTES_MIN = 64 * 16 * 1024;
/**
 * minno's largest pool here: its frames are one typed array, and Node 20 caps a typed array at
 * 4 GiB.
 */
export const MINNO_POOL_BYTES_MAX = 3.5 * 1024 ** 3;
/** The default pool, when the data's size is not known, and the least a "holds the data" pool gets. */
export const MINNO_POOL_BYTES_DEFAULT = 64 * 1024 * 1024;

function clampPool(bytes: number): number {
  return Math.min(MINNO_POOL_BYTES_MAX, Math.max(MINNO_POOL_BYTES_MIN, Math.round(bytes)));
}

/**
 * The pool a minno variant gets, given the bytes its tablespaces take once loaded (undefined: not
 * known). Without a setting the pool holds the data with half as much again to spare for what a
 * run adds (updates, undo), at least the default.
 */
export function minnoPoolBytes(pool: PoolSetting | undefined, dataBytes: number | undefined): number | undefined {
  if (pool !== undefined && 'bytes' in pool) return clampPool(pool.bytes);
  if (dataBytes === undefined) return undefined;
  if (pool === undefined) return clampPool(Math.max(MINNO_POOL_BYTES_DEFAULT, 1.5 * dataBytes));
  return clampPool((dataBytes * pool.percent) / 100);
}
