/**
 * The inspector's decoders of the LOB pages (src/lob/lob-format.ts holds their byte tables, whose
 * field names these use): a first page's header and slots, an index page's slots, a data page's
 * version of one slot; and the two LOB fields of a space's header page (lob-context.ts).
 *
 * A slot's entry is shown as a record `{ slot, page }`: the page holding the slot's newest
 * version, whose FIL PREV leads to the older ones (a data page's PREV field). 0 is a slot not
 * written yet (a LOB being built), NIL a slot already freed (a LOB being freed).
 *
 * InnoDB counterpart: innodb_ruby's `Innodb::Page::Blob` and the LOB first, index and data pages
 * of `lob0first.h`, `lob0index.h`, `lob0pages.h`.
 */
import { SPACE_LOB_NEXT_ID, SPACE_LOB_PENDING_HEAD } from '../../lob/lob-context.js';
import {
  DATA_BYTES_OFFSET,
  DATA_LOB_ID,
  DATA_SLOT,
  DATA_VERSION,
  FIRST_DIRECTORY,
  FIRST_FORMAT,
  FIRST_INLINE_SLOTS,
  FIRST_LENGTH,
  FIRST_LOB_ID,
  FIRST_N_INDEX_PAGES,
  FIRST_PENDING_NEXT,
  FIRST_PENDING_SLOT_MAX,
  FIRST_PENDING_SLOT_MIN,
  FIRST_SLOTS,
  FIRST_STATE,
  FIRST_VERSION,
  INDEX_FIRST_SLOT,
  INDEX_LOB_ID,
  INDEX_SLOTS,
  LobState,
  SLOT_FREED,
  SLOT_UNSET,
  lobGeometry,
} from '../../lob/lob-format.js';
import { PageType, readU16, readU32 } from '../../page/page.js';
import {
  type DecodedRecord,
  type PageField,
  fieldsOf,
  hex,
  pageDecoder,
  registerPageDecoder,
  u16,
  u32,
  u64,
} from './page-decoders.js';

const STATE_NAMES = new Map<number, string>(Object.entries(LobState).map(([name, code]) => [code, name]));

/** How many data bytes a data page's DATA field shows. */
const DATA_SHOWN_BYTES = 32;

function stateField(page: Uint8Array): PageField {
  const state = page[FIRST_STATE]!;
  return { name: 'STATE', offset: FIRST_STATE, size: 1, value: STATE_NAMES.get(state) ?? `unknown(${state})` };
}

/** The `count` slot entries from `from` of `page`, the first being slot `firstSlot`; unset ones left out. */
function slotRecords(page: Uint8Array, from: number, count: number, firstSlot: number): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const pageNo = readU32(page, from + 4 * i);
    if (pageNo !== SLOT_UNSET) records.push({ slot: firstSlot + i, page: pageNo === SLOT_FREED ? 'NIL' : pageNo });
  }
  return records;
}

registerPageDecoder(PageType.LobFirst, {
  name: 'LobFirst',
  fields: (page) => {
    const fields = [
      { name: 'FORMAT', offset: FIRST_FORMAT, size: 1, value: page[FIRST_FORMAT]! },
      stateField(page),
      ...fieldsOf(
        u16('N_INDEX_PAGES', FIRST_N_INDEX_PAGES),
        u32('VERSION', FIRST_VERSION),
        u64('LOB_ID', FIRST_LOB_ID),
        u64('LENGTH', FIRST_LENGTH),
        u32('PENDING_NEXT', FIRST_PENDING_NEXT),
        u32('PENDING_SLOT_MIN', FIRST_PENDING_SLOT_MIN),
        u32('PENDING_SLOT_MAX', FIRST_PENDING_SLOT_MAX),
      )(page),
    ];
    // The directory: the index pages holding slots 32 and up.
    const g = lobGeometry(page.length);
    for (let k = 0; k < Math.min(readU16(page, FIRST_N_INDEX_PAGES), g.directoryEntries); k++) {
      const offset = FIRST_DIRECTORY + 4 * k;
      fields.push({ name: `DIRECTORY[${k}]`, offset, size: 4, value: readU32(page, offset) });
    }
    fields.push(hex(`DATA (first ${DATA_SHOWN_BYTES} bytes)`, g.firstDataOffset, DATA_SHOWN_BYTES)(page));
    return fields;
  },
  records: (page) => slotRecords(page, FIRST_SLOTS, FIRST_INLINE_SLOTS, 0),
});

registerPageDecoder(PageType.LobIndex, {
  name: 'LobIndex',
  fields: fieldsOf(u64('LOB_ID', INDEX_LOB_ID), u32('FIRST_SLOT', INDEX_FIRST_SLOT)),
  records: (page) =>
    slotRecords(page, INDEX_SLOTS, lobGeometry(page.length).indexEntries, readU32(page, INDEX_FIRST_SLOT)),
});

registerPageDecoder(PageType.LobData, {
  name: 'LobData',
  fields: fieldsOf(
    u64('LOB_ID', DATA_LOB_ID),
    u32('SLOT', DATA_SLOT),
    u32('VERSION', DATA_VERSION),
    hex(`DATA (first ${DATA_SHOWN_BYTES} bytes)`, DATA_BYTES_OFFSET, DATA_SHOWN_BYTES),
  ),
});

// The space header's LOB fields, after the ones every space header has.
const spaceHeader = pageDecoder(PageType.SpaceHeader)!;
registerPageDecoder(PageType.SpaceHeader, {
  ...spaceHeader,
  fields: (page) =>
    spaceHeader
      .fields(page)
      .concat(fieldsOf(u32('LOB_PENDING_HEAD', SPACE_LOB_PENDING_HEAD), u64('LOB_NEXT_ID', SPACE_LOB_NEXT_ID))(page)),
});
