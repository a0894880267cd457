// Thread entry for the scheduler's reduce pool: loads reduce-runner through tsx's CommonJS hook,
// which compiles in this thread (why not tsx's ESM hook: src/registry/import-module.ts).
require('tsx/cjs/api').register();
require('../registry/import-module.ts').loadedAsCommonJs();
module.exports = require('./reduce-runner.ts').reduceInThread;
