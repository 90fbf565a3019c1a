/**
 * `minno sim` and `minno bench`: doors to the tools of a source checkout (the simulator,
 * scripts/sim.ts; the benchmark harness, bench/cli.ts once it lands, else bench/run.ts). They run
 * TypeScript through tsx, a development dependency: in an installed package they say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';

/** The package root: two levels up from src/cli/commands or dist/cli/commands. */
const root = fileURLToPath(new URL('../../../', import.meta.url));

function runTool(scripts: readonly string[], args: readonly string[], what: string): number {
  const script = scripts.map((s) => `${root}${s}`).find((s) => existsSync(s));
  let tsx: string | undefined;
  try {
    tsx = createRequire(`${root}package.json`).resolve('tsx');
  } catch {
    tsx = undefined;
  }
  if (script === undefined || tsx === undefined) {
    process.stderr.write(
      `minno ${what} is available in a source checkout of minno (git clone, npm ci): it runs ${scripts[0]} with tsx\n`,
    );
    return EXIT.FAILED;
  }
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit', cwd: root });
  return child.status ?? EXIT.INTERNAL;
}

export function registerToolCommands(program: Command): void {
  program
    .command('sim')
    .description('the deterministic simulator (scripts/sim.ts; source checkout): minno sim -- --seed 1 --runs 10')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption('--help-minno', "this help (minno sim --help shows the simulator's)")
    .argument('[args...]', 'passed to the simulator')
    .action((args: string[]) => {
      process.exitCode = runTool(['scripts/sim.ts'], args, 'sim');
    });
  program
    .command('bench')
    .description('the benchmark harness (bench/cli.ts, or bench/run.ts; source checkout): minno bench -- --quick')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption('--help-minno', "this help (minno bench --help shows the harness's)")
    .argument('[args...]', 'passed to the harness')
    .action((args: string[]) => {
      process.exitCode = runTool(['bench/cli.ts', 'bench/run.ts'], args, 'bench');
    });
}
