/**
 * Elle's list-append checker, ours (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from
 * Experimental Observations", VLDB 2020; github.com/jepsen-io/elle `elle.list-append`).
 *
 * From a history of committed and failed transactions it infers, for every key, the order its
 * appends took effect in (the longest committed read; every other read must be a prefix of it),
 * and from that Adya's dependency graph between committed transactions:
 *
 *     ww  T1 -> T2   T2 appended to k right after T1 did (consecutive elements of k's order)
 *     wr  T1 -> T2   T2 read a version of k whose last element T1 appended
 *     rw  T1 -> T2   T1 read a version of k, and T2 appended the element that comes next
 *
 * Only a transaction's *external* reads of a key (before its own first append to it) make wr and
 * rw edges; the rest is internal consistency. The anomalies, by Elle's names:
 *
 * | name               | what                                                                     |
 * |--------------------|--------------------------------------------------------------------------|
 * | duplicate-elements | a read holds one element twice                                           |
 * | incompatible-order | two committed reads of a key are not prefixes of one another             |
 * | internal           | a read disagrees with the transaction's own earlier reads and appends     |
 * | G1a                | a committed read saw an element appended by a failed transaction         |
 * | G1b                | a committed read ended in an append its writer followed with another     |
 * | G0                 | a cycle of ww edges                                                      |
 * | G1c                | a cycle of ww and wr edges (with at least one wr)                        |
 * | G-single           | a cycle with exactly one rw edge (read skew)                             |
 * | G2-item            | a cycle with two or more rw edges (write skew)                           |
 * | lost-update        | two committed transactions read one version of a key and both appended   |
 *
 * Three more of ours: `garbage-element` (a read holds a value nobody appended to that key),
 * `lost-append` (a committed append is missing from the final read: histories end with a read of
 * every key after all clients stopped), and `read-only-snapshot` (a G-single cycle whose one rw
 * edge leaves a read-only transaction: its reads come from no single snapshot).
 *
 * `internal` depends on the level. Elle's own rule (a read equals the transaction's previous read
 * plus its own appends since) is a repeatable read; InnoDB gives it at SERIALIZABLE (locking
 * reads) and to read-only transactions at REPEATABLE READ (one read view). At READ COMMITTED, and
 * for read-write transactions at REPEATABLE READ, whose appends act on the newest version (Jepsen's
 * MySQL 8.0.34 analysis), a read need only extend the previous one and end with the transaction's
 * own appends since.
 */
import type { IsolationLevel } from '../../../src/mvcc/trx.js';
import type { MicroOp, Txn } from './history.js';

export const ELLE_ANOMALIES = [
  'G0',
  'G1a',
  'G1b',
  'G1c',
  'G-single',
  'G2-item',
  'lost-update',
  'internal',
  'duplicate-elements',
  'incompatible-order',
] as const;
export const OUR_ANOMALIES = ['garbage-element', 'lost-append', 'read-only-snapshot'] as const;
export type AnomalyName = (typeof ELLE_ANOMALIES)[number] | (typeof OUR_ANOMALIES)[number];
export const ANOMALY_NAMES: readonly AnomalyName[] = [...ELLE_ANOMALIES, ...OUR_ANOMALIES];

const SANITY: readonly AnomalyName[] = [
  'internal',
  'duplicate-elements',
  'incompatible-order',
  'garbage-element',
  'lost-append',
];

/** What InnoDB forbids at each level (and so what fails a run). */
export const FORBIDDEN: Readonly<Record<IsolationLevel, readonly AnomalyName[]>> = {
  'read-committed': ['G0', 'G1a', 'G1b', 'G1c', ...SANITY],
  'repeatable-read': ['G0', 'G1a', 'G1b', 'G1c', ...SANITY, 'read-only-snapshot'],
  serializable: ANOMALY_NAMES,
};

export interface Anomaly {
  readonly name: AnomalyName;
  /** The transactions involved (for a cycle, in cycle order), by id. */
  readonly txns: readonly number[];
  readonly explanation: string;
}

export interface Report {
  readonly txns: number;
  readonly committed: number;
  readonly counts: Readonly<Record<AnomalyName, number>>;
  /** Up to `examplesPerName` instances of each anomaly, explained. */
  readonly examples: readonly Anomaly[];
  /** The anomalies found that `level` forbids. */
  readonly forbidden: readonly AnomalyName[];
}

const WW = 1;
const WR = 2;
const RW = 4;
const EDGE_NAMES: Record<number, string> = { [WW]: 'ww', [WR]: 'wr', [RW]: 'rw' };

interface Append {
  readonly txn: Txn;
  readonly k: number;
  /** This is the writer's last append to `k`. */
  readonly lastOfKey: boolean;
}

/** An edge u -> v, with the key that made each of its kinds. */
interface Edge {
  mask: number;
  readonly keys: Map<number, number>;
}

export function checkHistory(history: readonly Txn[], level: IsolationLevel, examplesPerName = 3): Report {
  const counts = Object.fromEntries(ANOMALY_NAMES.map((n) => [n, 0])) as Record<AnomalyName, number>;
  const examples: Anomaly[] = [];
  const report = (name: AnomalyName, txns: readonly number[], explanation: () => string): void => {
    if (counts[name]++ < examplesPerName) examples.push({ name, txns, explanation: explanation() });
  };
  const committed = history.filter((t) => t.outcome === 'ok');

  // Every append, by value.
  const appends = new Map<number, Append>();
  for (const txn of history) {
    const lastOf = new Map<number, number>();
    for (const op of txn.ops) if (op.f === 'append') lastOf.set(op.k, op.v);
    for (const op of txn.ops) {
      if (op.f !== 'append') continue;
      if (appends.has(op.v))
        throw new Error(`history error: value ${op.v} appended twice (T${appends.get(op.v)!.txn.id}, T${txn.id})`);
      appends.set(op.v, { txn, k: op.k, lastOfKey: lastOf.get(op.k) === op.v });
    }
  }

  // Sanity of every read, and the version order of every key: its longest committed read.
  const order = new Map<number, readonly number[]>();
  const badKeys = new Set<number>();
  for (const txn of history) {
    for (const op of txn.ops) {
      if (op.f !== 'r') continue;
      if (new Set(op.v).size !== op.v.length)
        report('duplicate-elements', [txn.id], () => `T${txn.id} read ${op.k} = ${show(op.v)}`);
      for (const e of op.v) {
        const a = appends.get(e);
        if (a === undefined || a.k !== op.k)
          report(
            'garbage-element',
            [txn.id],
            () => `T${txn.id} read ${op.k} = ${show(op.v)}: nobody appended ${e} to ${op.k}`,
          );
      }
      if (txn.outcome === 'ok' && op.v.length > (order.get(op.k)?.length ?? -1)) order.set(op.k, op.v);
    }
  }
  for (const txn of committed) {
    for (const op of txn.ops) {
      if (op.f !== 'r' || isPrefix(op.v, order.get(op.k)!)) continue;
      badKeys.add(op.k);
      report(
        'incompatible-order',
        [txn.id],
        () => `T${txn.id} read ${op.k} = ${show(op.v)}, not a prefix of ${show(order.get(op.k)!)}`,
      );
    }
  }
  const position = new Map<number, number>(); // element -> its index in its key's order
  for (const [k, list] of order) if (!badKeys.has(k)) list.forEach((e, i) => position.set(e, i));

  for (const txn of committed) {
    // lost-append: a committed append that the final order does not hold.
    for (const op of txn.ops) {
      if (op.f === 'append' && !badKeys.has(op.k) && !position.has(op.v))
        report(
          'lost-append',
          [txn.id],
          () => `T${txn.id} committed append ${op.k} ${op.v}, but ${op.k} ends as ${show(order.get(op.k) ?? [])}`,
        );
    }
    for (const op of txn.ops) {
      if (op.f !== 'r') continue;
      // G1a: an element of a failed transaction.
      for (const e of op.v) {
        const a = appends.get(e);
        if (a !== undefined && a.txn.outcome === 'fail')
          report(
            'G1a',
            [a.txn.id, txn.id],
            () =>
              `T${txn.id} read ${op.k} = ${show(op.v)}: ${e} is from T${a.txn.id}, which failed (${a.txn.error ?? ''})`,
          );
      }
      // G1b: a version that was not its writer's last append to the key.
      const last = op.v.at(-1);
      const a = last === undefined ? undefined : appends.get(last);
      if (a !== undefined && a.txn.outcome === 'ok' && a.txn !== txn && !a.lastOfKey) {
        report(
          'G1b',
          [a.txn.id, txn.id],
          () =>
            `T${txn.id} read ${op.k} = ${show(op.v)}, an intermediate version of T${a.txn.id} (${showOps(a.txn.ops)})`,
        );
      }
    }
    const internal = internalError(txn, strictInternal(txn));
    if (internal !== undefined) report('internal', [txn.id], () => `T${txn.id} (${showOps(txn.ops)}): ${internal}`);
  }

  // The dependency graph over committed transactions.
  const index = new Map<Txn, number>(committed.map((t, i) => [t, i]));
  const edges: Array<Map<number, Edge>> = committed.map(() => new Map());
  const addEdge = (from: Txn, to: Txn, kind: number, k: number): void => {
    if (from === to) return;
    const u = index.get(from)!;
    const v = index.get(to)!;
    let edge = edges[u]!.get(v);
    if (edge === undefined) edges[u]!.set(v, (edge = { mask: 0, keys: new Map() }));
    edge.mask |= kind;
    if (!edge.keys.has(kind)) edge.keys.set(kind, k);
  };
  const writerOf = (e: number | undefined): Txn | undefined => {
    const a = e === undefined ? undefined : appends.get(e);
    return a?.txn.outcome === 'ok' ? a.txn : undefined;
  };
  for (const [k, list] of order) {
    if (badKeys.has(k)) continue;
    for (let i = 1; i < list.length; i++) {
      const from = writerOf(list[i - 1]);
      const to = writerOf(list[i]);
      if (from !== undefined && to !== undefined) addEdge(from, to, WW, k);
    }
  }
  const versionReaders = new Map<string, Set<Txn>>(); // lost-update: who read each version and appended
  for (const txn of committed) {
    const appended = new Set<number>();
    for (const op of txn.ops) {
      if (op.f === 'append') {
        appended.add(op.k);
        continue;
      }
      if (appended.has(op.k) || badKeys.has(op.k)) continue; // an internal read
      const list = order.get(op.k)!;
      const writer = writerOf(op.v.at(-1));
      if (writer !== undefined) addEdge(writer, txn, WR, op.k);
      const next = writerOf(list[op.v.length]);
      if (next !== undefined) addEdge(txn, next, RW, op.k);
      if (txn.ops.some((o) => o.f === 'append' && o.k === op.k)) {
        const version = `${op.k}@${op.v.length}`;
        let readers = versionReaders.get(version);
        if (readers === undefined) versionReaders.set(version, (readers = new Set()));
        readers.add(txn);
      }
    }
  }
  for (const [version, readers] of versionReaders) {
    if (readers.size < 2) continue;
    const ids = [...readers].map((t) => t.id);
    report(
      'lost-update',
      ids,
      () => `${ids.map((id) => `T${id}`).join(', ')} all read version ${version} and appended to it`,
    );
  }

  findCycles(committed, edges, report);
  const forbidden = FORBIDDEN[level].filter((name) => counts[name] > 0);
  return { txns: history.length, committed: committed.length, counts, examples, forbidden };
}

/** Elle's internal rule (see the module doc) applies at SERIALIZABLE, and to read-only transactions at REPEATABLE READ. */
function strictInternal(txn: Txn): boolean {
  return txn.level === 'serializable' || (txn.level === 'repeatable-read' && txn.readOnly);
}

/** Why `txn`'s reads contradict its own earlier reads and appends, or undefined. */
function internalError(txn: Txn, strict: boolean): string | undefined {
  const known = new Map<number, { read: readonly number[] | undefined; since: number[] }>();
  for (const op of txn.ops) {
    let state = known.get(op.k);
    if (state === undefined) known.set(op.k, (state = { read: undefined, since: [] }));
    if (op.f === 'append') {
      state.since.push(op.v);
      continue;
    }
    const expected = state.read === undefined ? undefined : [...state.read, ...state.since];
    if (strict && expected !== undefined && !sameList(op.v, expected))
      return `read ${op.k} = ${show(op.v)}, expected ${show(expected)}`;
    if (state.read !== undefined && !isPrefix(state.read, op.v))
      return `read ${op.k} = ${show(op.v)} after reading ${show(state.read)}`;
    if (op.v.length < state.since.length || !sameList(state.since, op.v.slice(op.v.length - state.since.length))) {
      return `read ${op.k} = ${show(op.v)}, which does not end with its own appends ${show(state.since)}`;
    }
    state.read = op.v;
    state.since = [];
  }
  return undefined;
}

/**
 * G0, G1c, G-single and G2-item, by strongly connected components (Tarjan) of the subgraphs Elle
 * uses: ww for G0; ww+wr for G1c; and for each rw edge u -> v inside a component of the whole
 * graph, whether v gets back to u over ww+wr alone (G-single) or only through more rw edges (G2-item).
 */
function findCycles(
  committed: readonly Txn[],
  edges: ReadonlyArray<Map<number, Edge>>,
  report: (name: AnomalyName, txns: readonly number[], explain: () => string) => void,
): void {
  const n = committed.length;
  const search = new PathSearch(n, edges);
  const describe = (cycle: readonly number[]): string => describeCycle(cycle, committed, edges);
  const ids = (cycle: readonly number[]): number[] => cycle.map((i) => committed[i]!.id);

  const ww = components(n, edges, WW);
  for (const members of ww.groups) {
    const cycle = search.path(members[0]!, members[0]!, WW, ww.component)!;
    report('G0', ids(cycle), () => describe(cycle));
  }
  const wwr = components(n, edges, WW | WR);
  for (const members of wwr.groups) {
    // A cycle through one of its wr edges (a component of ww edges alone is G0's).
    let found: number[] | undefined;
    for (const u of members) {
      for (const [v, edge] of edges[u]!) {
        if ((edge.mask & WR) === 0 || wwr.component[v] !== wwr.component[u]) continue;
        found = search.path(v, u, WW | WR, wwr.component);
        if (found !== undefined) break;
      }
      if (found !== undefined) break;
    }
    if (found !== undefined) {
      const cycle = found;
      report('G1c', ids(cycle), () => describe(cycle));
    }
  }
  const all = components(n, edges, WW | WR | RW);
  for (const members of all.groups) {
    for (const u of members) {
      for (const [v, edge] of edges[u]!) {
        if ((edge.mask & RW) === 0 || all.component[v] !== all.component[u]) continue;
        const single = search.path(v, u, WW | WR, all.component);
        if (single !== undefined) {
          const cycle = single;
          report('G-single', ids(cycle), () => describe(cycle));
          if (committed[u]!.readOnly)
            report(
              'read-only-snapshot',
              ids(cycle),
              () => `read-only T${committed[u]!.id} saw no single snapshot: ${describe(cycle)}`,
            );
        } else {
          report('G2-item', ids([v, u]), () => describe(search.path(v, u, WW | WR | RW, all.component)!));
        }
      }
    }
  }
}

/** Strongly connected components with more than one member, over edges whose kind is in `mask`. */
function components(
  n: number,
  edges: ReadonlyArray<Map<number, Edge>>,
  mask: number,
): { component: Int32Array; groups: number[][] } {
  const component = new Int32Array(n).fill(-1);
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const groups: number[][] = [];
  let counter = 0;
  let next = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    const work: Array<{ node: number; out: Iterator<[number, Edge]> }> = [{ node: root, out: edges[root]!.entries() }];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const step = frame.out.next();
      if (!step.done) {
        const [v, edge] = step.value;
        if ((edge.mask & mask) === 0) continue;
        if (order[v] === -1) {
          order[v] = low[v] = counter++;
          stack.push(v);
          onStack[v] = 1;
          work.push({ node: v, out: edges[v]!.entries() });
        } else if (onStack[v] === 1) low[frame.node] = Math.min(low[frame.node]!, order[v]!);
        continue;
      }
      work.pop();
      const u = frame.node;
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low[parent] = Math.min(low[parent]!, low[u]!);
      }
      if (low[u] !== order[u]) continue;
      const members: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = 0;
        component[w] = next;
        members.push(w);
      } while (w !== u);
      next++;
      if (members.length > 1) groups.push(members);
    }
  }
  return { component, groups };
}

/** Breadth-first shortest paths inside one component, reusing its arrays across searches. */
class PathSearch {
  private readonly parent: Int32Array;
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(
    n: number,
    private readonly edges: ReadonlyArray<Map<number, Edge>>,
  ) {
    this.parent = new Int32Array(n);
    this.seen = new Int32Array(n);
  }

  /**
   * A shortest path from `from` to `to` over edges of `mask` kinds inside `from`'s component,
   * written as a cycle closed by an edge `to -> from` the caller knows of: `[to, from, ..., last]`
   * (just `[from, ..., last]` when `to` is `from`); undefined when there is none.
   */
  path(from: number, to: number, mask: number, component: Int32Array): number[] | undefined {
    const stamp = ++this.stamp;
    const queue = [from];
    this.seen[from] = stamp;
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head]!;
      for (const [v, edge] of this.edges[u]!) {
        if ((edge.mask & mask) === 0 || component[v] !== component[from]) continue;
        if (v === to) {
          // The path from..u, then `to`: as a cycle it starts at `to` (the edge into `from` closes it).
          const path = [u];
          for (let w = u; w !== from; ) path.push((w = this.parent[w]!));
          path.reverse();
          return to === from ? path : [to, ...path];
        }
        if (this.seen[v] === stamp) continue;
        this.seen[v] = stamp;
        this.parent[v] = u;
        queue.push(v);
      }
    }
    return undefined;
  }
}

/** `T1 -ww 3-> T2 -rw 5-> T1`, each transaction with its operations. */
function describeCycle(
  cycle: readonly number[],
  committed: readonly Txn[],
  edges: ReadonlyArray<Map<number, Edge>>,
): string {
  const parts: string[] = [];
  for (let i = 0; i < cycle.length; i++) {
    const u = cycle[i]!;
    const v = cycle[(i + 1) % cycle.length]!;
    const edge = edges[u]!.get(v)!;
    const kinds = [WW, WR, RW]
      .filter((kind) => (edge.mask & kind) !== 0)
      .map((kind) => `${EDGE_NAMES[kind]} ${edge.keys.get(kind)}`);
    parts.push(`T${committed[u]!.id} [${showOps(committed[u]!.ops)}] -${kinds.join('/')}->`);
  }
  return `${parts.join(' ')} T${committed[cycle[0]!]!.id}`;
}

function isPrefix(prefix: readonly number[], list: readonly number[]): boolean {
  if (prefix.length > list.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== list[i]) return false;
  return true;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && isPrefix(a, b);
}

function show(list: readonly number[]): string {
  return `[${list.join(' ')}]`;
}

export function showOps(ops: readonly MicroOp[]): string {
  return ops.map((op) => (op.f === 'r' ? `r ${op.k} ${show(op.v)}` : `append ${op.k} ${op.v}`)).join(', ');
}
