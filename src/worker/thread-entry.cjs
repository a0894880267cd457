// Worker-thread entry for piscina: loads the task runner through tsx's CommonJS hook, which
// compiles in this thread (why not tsx's ESM hook: src/registry/import-module.ts).
require('tsx/cjs/api').register();
require('../registry/import-module.ts').loadedAsCommonJs();
module.exports = require('./task-runner.ts').runTasks;
