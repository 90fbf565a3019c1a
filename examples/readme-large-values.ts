// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { Database } from '../src/index.js';

const db = await Database.open();
await db.createTable({
  name: 'files',
  columns: [
    { name: 'name', type: 'string' },
    { name: 'data', type: 'bytes' },
  ],
  primaryKey: ['name'],
});
const files = db.table('files');

// A value too large for the row goes to LOB pages; `get` still returns it whole.
await files.insert({ name: 'big.bin', data: new Uint8Array(3_000_000).fill(1) });
console.log(files.byteLength('big.bin', 'data')); // → 3000000

// Read a slice, or stream the value, without loading the rest of it.
console.log(files.readSlice('big.bin', 'data', 1_500_000, 4)); // → Uint8Array(4) [ 1, 1, 1, 1 ]
let streamed = 0;
for await (const chunk of files.stream('big.bin', 'data')!) streamed += chunk.length;
console.log(streamed); // → 3000000

// A partial update changes bytes in place; a snapshot taken before still reads the old ones.
const reader = db.begin();
reader.table('files').get('big.bin');
await files.updatePartial('big.bin', 'data', [{ offset: 0, bytes: Uint8Array.of(7, 7) }]);
console.log(files.readSlice('big.bin', 'data', 0, 3)); // → Uint8Array(3) [ 7, 7, 1 ]
console.log(reader.table('files').readSlice('big.bin', 'data', 0, 3)); // → Uint8Array(3) [ 1, 1, 1 ]
await reader.commit();
await db.close();
