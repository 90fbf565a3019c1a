/**
 * The columns of the `items` table that the long-operation tests (index builds, drops, the event
 * loop measurements) share: an int32 key, an int32 `v` to index and a string `label`.
 */
export const ITEMS_COLUMNS = [
  { name: 'id', type: 'int32' },
  { name: 'v', type: 'int32' },
  { name: 'label', type: 'string' },
] as const;
