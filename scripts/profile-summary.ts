/**
 * Summarises a V8 .cpuprofile: the functions with the largest self and inclusive shares of the
 * samples, for naming the causes of a slow operation (issue 16).
 *
 *   npx tsx scripts/profile-summary.ts <file.cpuprofile> [--top 25]
 *
 * Self: samples whose top frame is the function. Inclusive: samples with the function anywhere on
 * the stack (counted once per sample however deep it recurses). Idle and GC are listed as V8 names
 * them ("(idle)", "(garbage collector)").
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: profile-summary <file.cpuprofile> [--top N]');
  process.exit(2);
}
const topAt = process.argv.indexOf('--top');
const top = topAt < 0 ? 25 : Number(process.argv[topAt + 1]);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

function frameName(frame: CallFrame): string {
  const where =
    frame.url === ''
      ? ''
      : ` ${frame.url.replace(/^.*\/(src|bench|scripts|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const id of profile.samples) {
  const leaf = byId.get(id)!;
  const leafName = frameName(leaf.callFrame);
  self.set(leafName, (self.get(leafName) ?? 0) + 1);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = frameName(byId.get(at)!.callFrame);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
  }
}

const total = profile.samples.length;
function print(title: string, counts: Map<string, number>): void {
  console.log(`${title} (${total} samples)`);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, count] of sorted) console.log(`${((100 * count) / total).toFixed(1).padStart(6)}%  ${name}`);
}
print('self', self);
console.log();
print('inclusive', inclusive);

const callersAt = process.argv.indexOf('--callers');
if (callersAt >= 0) {
  const wanted = process.argv[callersAt + 1]!;
  const callers = new Map<string, number>();
  for (const id of profile.samples) {
    const name = frameName(byId.get(id)!.callFrame);
    if (!name.startsWith(wanted)) continue;
    const up = parent.get(id);
    const key = up === undefined ? '(none)' : frameName(byId.get(up)!.callFrame);
    callers.set(key, (callers.get(key) ?? 0) + 1);
  }
  console.log();
  print(`callers of ${wanted} (self samples)`, callers);
}
