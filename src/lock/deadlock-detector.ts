/**
 * The wait-for graph search behind deadlock detection, and the choice of the victim.
 *
 * InnoDB counterpart: MySQL 5.7's `DeadlockChecker` (lock0lock.cc: a depth-first search from the
 * transaction whose new wait may have closed a cycle, repeated by `check_and_resolve` until no
 * cycle through it is left) and MySQL 8.0's `lock_wait_choose_victim` (lock0wait.cc: the victim is
 * the lightest transaction on the cycle by `trx_weight_ge`, ties going to the transaction that
 * started waiting last). We search the whole graph (every conflicting lock is an edge), as 5.7
 * does, rather than 8.0's sparse one-edge-per-waiter snapshot: our graphs are small, and the full
 * search finds each cycle the moment it closes, so no background pass is needed.
 *
 * The graph: a node per transaction, an edge from each waiting transaction to every transaction
 * holding (or queued ahead with) a lock its request conflicts with. Only waiting transactions have
 * edges out, and each waits for one lock at a time.
 */

/** The edges out of a node: whom `node` waits for (empty when it does not wait). */
export type WaitsFor<T> = (node: T) => readonly T[];

/**
 * A cycle through `start`, as the list `[start, n1, ..., nk]` in which each waits for the next and
 * `nk` waits for `start`; undefined when none. Depth-first, each node entered once: O(nodes + edges).
 */
export function findCycleThrough<T>(start: T, waitsFor: WaitsFor<T>): T[] | undefined {
  const path: T[] = [start];
  const edges: Array<readonly T[]> = [waitsFor(start)];
  const next: number[] = [0];
  const entered = new Set<T>([start]);
  while (path.length > 0) {
    const top = path.length - 1;
    const out = edges[top]!;
    if (next[top]! >= out.length) {
      path.pop();
      edges.pop();
      next.pop();
      continue;
    }
    const node = out[next[top]!++]!;
    if (node === start) return path.slice();
    // A node entered before either leads back to start through a path already being explored, or
    // not at all: entering it again finds nothing new.
    if (entered.has(node)) continue;
    entered.add(node);
    path.push(node);
    edges.push(waitsFor(node));
    next.push(0);
  }
  return undefined;
}

/**
 * Any cycle in the graph; undefined when it is acyclic (K3). A search through each node in turn:
 * quadratic, for debug checks and tests over graphs of a few dozen waiters.
 */
export function findAnyCycle<T>(nodes: Iterable<T>, waitsFor: WaitsFor<T>): T[] | undefined {
  for (const node of nodes) {
    const cycle = findCycleThrough(node, waitsFor);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/**
 * lock_wait_choose_victim: rotate the cycle so the transaction that started waiting last comes
 * last, then walk it keeping the lightest, a tie going to the later one. So on equal weights the
 * newest waiter (usually the one whose request closed the cycle) is rolled back, as in InnoDB.
 */
export function chooseVictim<T>(cycle: readonly T[], weight: (node: T) => number, waitOrder: (node: T) => number): T {
  let newest = 0;
  for (let i = 1; i < cycle.length; i++) if (waitOrder(cycle[i]!) > waitOrder(cycle[newest]!)) newest = i;
  let victim: T | undefined;
  for (let step = 1; step <= cycle.length; step++) {
    const node = cycle[(newest + step) % cycle.length]!;
    // trx_weight_ge(victim, node): the later of two equally heavy transactions is chosen.
    if (victim === undefined || weight(victim) >= weight(node)) victim = node;
  }
  return victim!;
}
