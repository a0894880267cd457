// Worker-thread entry for piscina. TypeScript is loaded through tsx's CommonJS hook, which compiles
// in this thread: tsx's ESM hook (`tsx/esm/api`) would give every thread a loader thread of its
// own under Node 20 (~20 MB each). thread-modules.ts falls back to it for the modules that need it.
require('tsx/cjs/api').register();
module.exports = require('./task-runner.ts').runTasks;
