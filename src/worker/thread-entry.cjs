// Worker-thread entry for piscina: loads the task runner. In the package it runs as it is, next to
// the compiled JavaScript of dist/; in the repo the node runs it bundled with the TypeScript it
// requires (src/registry/thread-code.ts; why CommonJS, and how job modules load: import-module.ts).
require('../registry/import-module').loadedAsCommonJs();
module.exports = require('./task-runner').runTasks;
