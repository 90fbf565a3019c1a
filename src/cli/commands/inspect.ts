/**
 * `minno inspect`: the inspector (ops/inspect/inspector.ts) on a database that is not open, or on
 * a backup. Subcommands follow innodb_ruby's modes.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { Inspector, drawTree } from '../../ops/inspect/inspector.js';
import { action, common, type CommandOptions } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { print, printJson, table, toJson } from '../output.js';
import { existingDir } from '../paths.js';

function integer(value: string | undefined, what: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${String(value)}`);
  return n;
}

async function withInspector(
  dir: string,
  options: CommandOptions,
  show: (inspector: Inspector) => unknown,
): Promise<number> {
  const inspector = await Inspector.open(existingDir(dir));
  try {
    const result = show(inspector);
    if (options.json === true) printJson(result);
    return EXIT.OK;
  } finally {
    inspector.close();
  }
}

export function registerInspectCommand(program: Command): void {
  const inspect = program
    .command('inspect')
    .description('look inside the files of a database that is not open, or of a backup (innodb_ruby style)');

  common(
    inspect
      .command('spaces')
      .description('each tablespace: its tables, page types and counts, bad pages')
      .argument('<dir>'),
  ).action(
    action(async ([dir], options) =>
      withInspector(dir!, options, (inspector) => {
        const spaces = inspector.spaces();
        if (options.json !== true) {
          print(
            table(
              ['space', 'file', 'tables', 'pages', 'page types', 'bad'],
              spaces.map((s) => [
                String(s.spaceId),
                s.file,
                s.tables.join(', '),
                String(s.pages),
                Object.entries(s.pageTypes)
                  .map(([t, n]) => `${t}: ${n}`)
                  .join('\n'),
                String(s.badPages.length),
              ]),
            ),
          );
        }
        return spaces;
      }),
    ),
  );

  common(
    inspect
      .command('page')
      .description('one page: header fields named as in the byte tables, records decoded')
      .argument('<dir>')
      .argument('<space>')
      .argument('<page>'),
  ).action(
    action(async ([dir, space, page], options) =>
      withInspector(dir!, options, (inspector) => {
        const dump = inspector.page(integer(space, 'space'), integer(page, 'page'));
        if (options.json !== true) {
          print(
            `space ${dump.spaceId} page ${dump.pageNo}: ${dump.type}${dump.index === undefined ? '' : ` of ${dump.index}`} (${dump.check})`,
          );
          print(
            table(
              ['field', 'offset', 'size', 'value'],
              [...dump.fil, ...dump.fields, dump.trailer].map((f) => [
                f.name,
                String(f.offset),
                String(f.size),
                String(f.value),
              ]),
            ),
          );
          for (const record of dump.records) print(toJson(record).replace(/\n\s*/g, ' '));
        }
        return dump;
      }),
    ),
  );

  common(
    inspect
      .command('tree')
      .description("a B+tree's levels, page by page")
      .argument('<dir>')
      .argument('<table>')
      .option('-i, --index <name>', 'a secondary index instead of the clustered one'),
  ).action(
    action(async ([dir, tableName], options) =>
      withInspector(dir!, options, (inspector) => {
        const levels = inspector.tree(tableName!, (options['index'] as string | undefined) ?? 'PRIMARY');
        if (options.json !== true) print(drawTree(levels));
        return levels;
      }),
    ),
  );

  common(
    inspect
      .command('versions')
      .description("a row's versions through its undo chain (key values written as CSV export writes them)")
      .argument('<dir>')
      .argument('<table>')
      .argument('<key...>', 'the primary key, one value per key column'),
  ).action(
    action(async ([dir, tableName, ...key], options) =>
      withInspector(dir!, options, (inspector) => {
        const chain = inspector.versions(tableName!, key);
        if (options.json !== true) {
          print(
            table(
              ['trx id', 'roll ptr', 'deleted', 'undo', 'row'],
              chain.versions.map((v) => [
                String(v.trxId),
                v.rollPtr,
                String(v.deleted),
                v.undo === undefined ? '' : `${v.undo.type} #${v.undo.undoNo}`,
                v.row,
              ]),
            ),
          );
          print(`end of chain: ${chain.end}`);
        }
        return chain;
      }),
    ),
  );

  common(
    inspect
      .command('history')
      .description('the history list, the undo slots and the purge view the next open starts with')
      .argument('<dir>'),
  ).action(
    action(async ([dir], options) =>
      withInspector(dir!, options, (inspector) => {
        const history = inspector.history();
        if (options.json !== true) {
          print(
            `history length ${history.historyLength}; purge view: low_limit_no ${history.purgeView.lowLimitNo}, active [${history.purgeView.activeTrxIds.join(', ')}], ${history.purgeView.purgeable} log(s) purgeable`,
          );
          print(
            table(
              ['undo log page', 'trx id', 'trx no', 'records', 'pages'],
              history.history.map((h) => [
                String(h.pageNo),
                String(h.trxId),
                String(h.trxNo),
                String(h.records),
                String(h.pages),
              ]),
            ),
          );
          if (history.slots.length > 0)
            print(
              table(
                ['slot', 'page', 'trx id', 'kind', 'state', 'records'],
                history.slots.map((s) => [
                  String(s.slot),
                  String(s.pageNo),
                  String(s.trxId),
                  s.kind,
                  s.state,
                  String(s.records),
                ]),
              ),
            );
        }
        return history;
      }),
    ),
  );

  common(
    inspect
      .command('redo')
      .description("the redo log's groups and records (a backup: its redo tail)")
      .argument('<dir>')
      .option('--from <lsn>', 'start here (default: the newest checkpoint)')
      .option('--limit <groups>', 'at most this many groups', '100'),
  ).action(
    action(async ([dir], options) =>
      withInspector(dir!, options, (inspector) => {
        const from = options['from'] === undefined ? undefined : integer(options['from'] as string, '--from');
        const redo = inspector.redo(from, integer(options['limit'] as string, '--limit'));
        if (options.json !== true) {
          print(
            `checkpoint LSN ${redo.checkpointLsn}; from ${redo.fromLsn}; ${redo.groups.length} group(s) up to ${redo.endLsn}`,
          );
          for (const group of redo.groups) {
            print(`group [${group.startLsn}, ${group.endLsn}) durable ${group.durableLsn}`);
            for (const record of group.records) print(`  ${toJson(record).replace(/\n\s*/g, ' ')}`);
          }
        }
        return redo;
      }),
    ),
  );
}
