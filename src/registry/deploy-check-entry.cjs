// Thread entry of a deploy check: loads the checker through tsx's CommonJS hook, as the task threads
// do (src/worker/thread-entry.cjs), and runs it on the file named in workerData.
require('tsx/cjs/api').register();
require('./import-module.ts').loadedAsCommonJs();
require('./deploy-check-thread.ts').checkInThisThread();
