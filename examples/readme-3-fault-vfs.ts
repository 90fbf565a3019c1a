// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { FaultVfs, Storage } from '../src/index.js';

const vfs = new FaultVfs({ seed: 7 });
const storage = await Storage.open({ vfs });
// ... work ...
const image = vfs.crashNow('power-cut'); // what survives: only synced bytes and synced directory entries
storage.abandon();
const recovered = await Storage.open({ vfs: FaultVfs.fromImage(image, { seed: 8 }) });
console.log(recovered.recovery); // checkpoint, log end, groups and pages replayed, torn pages repaired
