// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { EventLoopSyncScheduler, FaultVfs, PageType, Storage, allocatePage, readU32 } from '../src/index.js';

// Asynchronous syncs that take 1 to 4 turns of the event loop, as a real fdatasync takes time.
const vfs = new FaultVfs({ seed: 7, asyncSyncs: { scheduler: new EventLoopSyncScheduler() } });
const storage = await Storage.open({ vfs });
storage.createSpace(1);
const allocate = storage.startMtr();
const { pageNo } = allocatePage(allocate, 1, PageType.Raw);
await storage.commitDurable(allocate.commit(), 'full'); // settles once synced
const change = storage.startMtr();
change.writeU32(change.getPage(1, pageNo), 40, 42);
await storage.commitDurable(change.commit(), 'write'); // handed to the OS, not synced

// kill -9: the OS page cache outlives the process; then the power goes at recovery's first sync.
const killed = vfs.crashNow('process-crash');
storage.abandon();
const rebooted = FaultVfs.fromImage(killed, { seed: 8 });
rebooted.crashAtSync(1, 'power-cut');
console.log(await Storage.open({ vfs: rebooted }).catch((error) => error.code)); // → ERR_SIMULATED_CRASH

// What survives is what was synced: the allocation, not the 'write' commit.
const recovered = await Storage.open({ vfs: FaultVfs.fromImage(rebooted.crashImage(), { seed: 9 }) });
const read = recovered.startMtr();
console.log(readU32(read.getPage(1, pageNo), 40)); // → 0
read.commit();
await recovered.close();
