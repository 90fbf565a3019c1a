/**
 * The comparison as markdown: one table per workload (medians over the repetitions, and each
 * engine's throughput over every other's), then what the engines are and what "durable" means
 * for each, the prepare step, and anything that failed or was skipped.
 */
import { describeWorkload, type WorkloadName } from '../workloads/catalog.js';
import type { ComparisonReport, WorkloadResult } from './comparison.js';
import { formatCount, formatDuration, formatMiB, formatRatio } from './format.js';

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], alignRightFrom = 1): string {
  const align = header.map((_, i) => (i >= alignRightFrom ? '---:' : '---'));
  return [row(header), row(align), ...rows.map(row)].join('\n');
}

function workloadTable(report: ComparisonReport, workload: WorkloadName, results: readonly WorkloadResult[]): string {
  const labels = results.filter((r) => r.ok).map((r) => r.engine);
  const unit = workload === 'bulk_insert' ? 'rows/s' : 'events/s';
  const header = [
    'engine',
    unit,
    'p50 µs',
    'p95 µs',
    'p99 µs',
    'max µs',
    'peak RSS MiB',
    'disk MiB',
    'written B/event',
    'write() B/event',
    ...labels.map((l) => `vs ${l}`),
  ];
  const rows = results.map((r) => {
    const s = r.summary;
    if (s === undefined)
      return [r.engine, `failed: ${(r.error ?? '').split('\n')[0]}`, ...header.slice(2).map(() => '')];
    return [
      r.engine,
      formatCount(s.eventsPerS),
      formatCount(s.latencyUs.p50),
      formatCount(s.latencyUs.p95),
      formatCount(s.latencyUs.p99),
      formatCount(s.latencyUs.max),
      formatMiB(s.rssPeakBytes),
      formatMiB(s.disk.allocatedBytes),
      s.writeBytesPerEvent === null ? 'n/a' : formatCount(s.writeBytesPerEvent),
      s.wcharPerEvent === null ? 'n/a' : formatCount(s.wcharPerEvent),
      ...labels.map((other) =>
        other === r.engine ? '' : formatRatio(report.ratios[workload]?.[r.engine]?.[other] ?? NaN),
      ),
    ];
  });
  return table(header, rows);
}

export function markdownReport(report: ComparisonReport): string {
  const o = report.options;
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# minno-bench: ${report.results.length === 0 ? 'no results' : (o['workloads'] as string[]).join(', ')}`);
  lines.push('');
  lines.push(`\`${report.command}\``);
  lines.push('');
  lines.push(
    `${report.startedAt.slice(0, 10)}, ${formatDuration(report.durationMs)}; ${m.cpus} × ${m.cpuModel}, ${formatCount(m.memoryBytes / 1024 ** 3)} GiB, ${m.platform}, Node ${m.node}; data in ${m.tmpdir}.`,
  );
  lines.push(
    `Durability ${String(o['durability'])}; ${String(o['threads'])} client(s); ${String(o['repetitions'])} repetition(s) (medians shown); warm-up ${String(o['warmupTime'])} s / ${String(o['warmupEvents'])} events; seed ${String(o['seed'])}.`,
  );
  if (report.syncRate !== null) {
    const r = report.syncRate;
    lines.push(
      `The disk's raw durable-commit rate (a ${formatCount(r.bytes)}-byte overwrite of a preallocated file, then fdatasync; median of a 2 s loop before and after the engines): ${formatCount(r.syncsPerS)} syncs/s (${r.samples.map((x) => formatCount(x.syncsPerS)).join(' and ')}), p50 ${formatCount(r.p50Us)} µs.`,
    );
  }
  const sb = o['sysbench'] as { tableSize: number; tables: number };
  const y = o['ycsb'] as { recordcount: number; operationcount: number };
  const families = new Set((o['workloads'] as string[]).map((w) => (w.startsWith('ycsb-') ? 'ycsb' : 'sysbench')));
  const sizes: string[] = [];
  if (families.has('sysbench'))
    sizes.push(`sysbench: ${formatCount(sb.tables)} table(s) of ${formatCount(sb.tableSize)} rows.`);
  if (families.has('ycsb'))
    sizes.push(
      `YCSB: ${formatCount(y.recordcount)} records, ${formatCount(y.operationcount)} operations per repetition.`,
    );
  lines.push(sizes.join(' '));
  if (o['inProcess'] === true)
    lines.push(
      "**Run with --in-process: every engine shared one process, so peak RSS and bytes written are not the engines' own.**",
    );
  lines.push('');
  const workloads = [...new Set(report.results.map((r) => r.workload))];
  for (const workload of workloads) {
    const results = report.results.filter((r) => r.workload === workload);
    const limits = results[0]!.limits;
    const limitText =
      limits.timeS > 0 && limits.events > 0
        ? `${limits.timeS} s or ${formatCount(limits.events)} events, whichever comes first`
        : limits.timeS > 0
          ? `${limits.timeS} s`
          : `${formatCount(limits.events)} events`;
    lines.push(`## ${workload}`);
    lines.push('');
    lines.push(`${describeWorkload(workload)}. Each repetition: ${limitText}.`);
    lines.push('');
    lines.push(workloadTable(report, workload, results));
    lines.push('');
  }
  lines.push(
    "Columns: throughput and latency percentiles are medians over the repetitions (max: the largest seen); latency is per event, start to acknowledgement. \"vs X\": this engine's throughput over X's. Peak RSS: the engine's own process (opening, warm-up and repetitions). Disk: blocks allocated under its directory after closing. Written: bytes the process caused to be written to storage per event (/proc/self/io write_bytes); write(): bytes it passed to write calls per event (wchar; memory maps excluded). The kernel counts write_bytes per page dirtied and some count far more than reaches the device: on the machine of the README's results, 2,000 writes of 300 bytes each followed by fdatasync counted 2 MiB of write_bytes each, so compare engines that sync per commit by write().",
  );
  lines.push('');
  lines.push('## Engines');
  lines.push('');
  lines.push(
    table(
      ['engine', 'version', 'durable means', 'k index', 'notes'],
      report.engines.map((e) => [
        e.label,
        `${e.packageName} ${e.version}${e.embeddedVersion === null ? '' : ` (${e.embeddedVersion})`}`,
        e.durability,
        e.secondaryIndex,
        e.notes.join('; '),
      ]),
      99,
    ),
  );
  lines.push('');
  const pools = report.results.filter((r) => r.bufferPoolBytes !== undefined);
  if (pools.length > 0) {
    const byEngine = new Map(
      pools.map((r) => [`${r.engine} (${r.workload.startsWith('ycsb') ? 'usertable' : 'sbtest'})`, r.bufferPoolBytes!]),
    );
    lines.push(
      `minno's buffer pool: ${[...byEngine].map(([name, bytes]) => `${name} ${formatMiB(bytes)} MiB`).join(', ')}.`,
    );
    lines.push('');
  }
  if (report.datasets.length > 0) {
    lines.push('## Prepare (untimed load before the workloads)');
    lines.push('');
    lines.push(
      table(
        ['tables', 'engine', 'rows', 'rows/s', 'disk MiB'],
        report.datasets.map((d) =>
          d.prepare === undefined
            ? [
                d.family === 'sysbench' ? 'sbtest' : 'usertable',
                d.engine,
                `failed: ${(d.error ?? '').split('\n')[0]}`,
                '',
                '',
              ]
            : [
                d.family === 'sysbench' ? 'sbtest' : 'usertable',
                d.engine,
                formatCount(d.prepare.rows),
                formatCount((d.prepare.rows * 1000) / d.prepare.loadMs),
                formatMiB(d.prepare.disk.allocatedBytes),
              ],
        ),
        2,
      ),
    );
    lines.push('');
  }
  for (const s of report.skippedEngines) lines.push(`Skipped: ${s.reason}.`);
  const failed = report.results.filter((r) => !r.ok);
  for (const r of failed) lines.push(`Failed: ${r.workload} on ${r.engine}: ${(r.error ?? '').split('\n')[0]}`);
  if (report.skippedEngines.length + failed.length > 0) lines.push('');
  return `${lines.join('\n')}\n`;
}
