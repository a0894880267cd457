// Thread entry of a deploy check: loads the checker as the task threads load their runner
// (src/worker/thread-entry.cjs): compiled JavaScript beside this file in the package, or in the
// repo the TypeScript source through tsx's CommonJS hook; then checks the file in workerData.
const fromSource = require('node:fs').existsSync(`${__dirname}/deploy-check-thread.ts`);
if (fromSource) require('tsx/cjs/api').register();
const ext = fromSource ? '.ts' : '.js';
require(`./import-module${ext}`).loadedAsCommonJs(fromSource);
require(`./deploy-check-thread${ext}`).checkInThisThread();
