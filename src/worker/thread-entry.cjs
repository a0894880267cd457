// Worker-thread entry for piscina: loads the task runner, compiled JavaScript beside this file in
// the package (dist/), or in the repo the TypeScript source through tsx's CommonJS hook, compiled
// in this thread (why CommonJS, and how job modules load: src/registry/import-module.ts).
const fromSource = require('node:fs').existsSync(`${__dirname}/task-runner.ts`);
if (fromSource) require('tsx/cjs/api').register();
const ext = fromSource ? '.ts' : '.js';
require(`../registry/import-module${ext}`).loadedAsCommonJs();
module.exports = require(`./task-runner${ext}`).runTasks;
