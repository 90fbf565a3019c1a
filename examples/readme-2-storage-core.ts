// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { MemoryVfs, PageType, Storage, allocatePage, readU32 } from '../src/index.js';

const storage = await Storage.open({ vfs: new MemoryVfs() });
storage.createSpace(1);

const mtr = storage.startMtr();
const { pageNo, page } = allocatePage(mtr, 1, PageType.Raw);
mtr.writeU32(page, 40, 42); // logged: a redo record describes exactly this change
await storage.commitDurable(mtr.commit(), 'full'); // settles once the redo is synced

const read = storage.startMtr();
console.log(readU32(read.getPage(1, pageNo), 40)); // → 42
read.commit();
await storage.close();
