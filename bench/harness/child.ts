/**
 * The engine's own process: `fork`ed by orchestrate.ts, one per prepare step and one per
 * (workload, engine) run, so each engine's memory, I/O counters and peak RSS are its own and no
 * engine's garbage or threads disturb another's figures.
 *
 * Protocol (IPC): the parent sends one `ChildJob`; the child answers with any number of
 * `progress` and `interval` messages, then one `result` or `error`, and exits.
 */
import {
  prepareDataset,
  runWorkload,
  type IntervalSample,
  type PrepareResult,
  type PrepareSpec,
  type ProgressUpdate,
  type RunResult,
  type RunSpec,
} from './runner.js';

export type ChildJob =
  | { readonly kind: 'prepare'; readonly spec: PrepareSpec }
  | { readonly kind: 'run'; readonly spec: RunSpec };

export type ChildMessage =
  | { readonly type: 'progress'; readonly update: ProgressUpdate }
  | { readonly type: 'interval'; readonly repetition: number; readonly sample: IntervalSample }
  | { readonly type: 'result'; readonly result: PrepareResult | RunResult }
  | { readonly type: 'error'; readonly message: string };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function runJob(job: ChildJob): Promise<PrepareResult | RunResult> {
  const hooks = {
    progress: (update: ProgressUpdate) => void send({ type: 'progress', update }),
    interval: (repetition: number, sample: IntervalSample) => void send({ type: 'interval', repetition, sample }),
  };
  return job.kind === 'prepare' ? prepareDataset(job.spec, hooks) : runWorkload(job.spec, hooks);
}

if (process.send !== undefined) {
  // The parent is gone (interrupted, killed): nobody wants the result, stop at once.
  process.once('disconnect', () => process.exit(1));
  process.once('message', (job: ChildJob) => {
    runJob(job).then(
      async (result) => {
        await send({ type: 'result', result });
        process.exit(0);
      },
      async (error: unknown) => {
        await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
      },
    );
  });
}
