// Thread entry for the scheduler's reduce pool: TypeScript through tsx's CommonJS hook (see
// src/worker/thread-entry.cjs), then reduce-runner.
require('tsx/cjs/api').register();
module.exports = require('./reduce-runner.ts').reduceInThread;
