/**
 * What a person watching a run sees, on stderr (stdout carries the report).
 *
 * On a terminal: one cli-progress bar for the step that runs (a load, or a workload on an engine)
 * with its phase and current rate, and sysbench-style interval lines (--report-interval) printed
 * above it. Elsewhere (a pipe, CI): a line when a step starts and when it ends, and the interval
 * lines.
 */
import cliProgress from 'cli-progress';
import { formatCount } from './report/format.js';
import type { IntervalSample, ProgressUpdate } from './runner.js';

export interface StepView {
  update(update: ProgressUpdate): void;
  interval(repetition: number, sample: IntervalSample): void;
  /** Ends the step with a one-line outcome. */
  end(outcome: string): void;
}

export interface ProgressView {
  step(title: string): StepView;
  log(line: string): void;
  close(): void;
}

const PHASE_NAMES: Readonly<Record<ProgressUpdate['phase'], string>> = {
  load: 'loading',
  'warm-up': 'warm-up',
  run: 'run',
};

function intervalLine(title: string, repetition: number, sample: IntervalSample): string {
  return `[ ${sample.atS.toFixed(0)}s ] ${title} rep ${repetition}: ${formatCount(sample.eventsPerS)} events/s, lat p95 ${formatCount(sample.p95Us)} µs`;
}

/** A progress bar on `stream` (a TTY). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: '{title} |{bar}| {percentage}% {phase} {rate}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    step(title) {
      const bar = bars.create(1000, 0, { title, phase: 'starting', rate: '' });
      return {
        update(update) {
          const phase =
            update.phase === 'run' && update.repetition > 0 ? `rep ${update.repetition}` : PHASE_NAMES[update.phase];
          const unit = update.phase === 'load' ? 'rows/s' : 'events/s';
          bar.update(Math.round(update.fraction * 1000), { phase, rate: `${formatCount(update.eventsPerS)} ${unit}` });
        },
        interval: (repetition, sample) => bars.log(`${intervalLine(title, repetition, sample)}\n`),
        end(outcome) {
          bars.remove(bar);
          bars.log(`${title}: ${outcome}\n`);
        },
      };
    },
    log: (line) => bars.log(`${line}\n`),
    close: () => bars.stop(),
  };
}

/** Plain lines on `stream`, for pipes and logs. */
export function lineProgress(stream: NodeJS.WritableStream = process.stderr): ProgressView {
  const write = (line: string): void => void stream.write(`${line}\n`);
  return {
    step(title) {
      write(`${title}...`);
      return {
        update: () => {},
        interval: (repetition, sample) => write(intervalLine(title, repetition, sample)),
        end: (outcome) => write(`${title}: ${outcome}`),
      };
    },
    log: write,
    close: () => {},
  };
}

/** Nothing at all (tests, --quiet). */
export function silentProgress(): ProgressView {
  const step: StepView = { update: () => {}, interval: () => {}, end: () => {} };
  return { step: () => step, log: () => {}, close: () => {} };
}
