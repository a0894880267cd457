// Thread entry for the scheduler's reduce pool: loads reduce-runner. In the package it runs as it
// is, next to the compiled JavaScript of dist/; in the repo the node runs it bundled with the
// TypeScript it requires (src/registry/thread-code.ts; why CommonJS: src/registry/import-module.ts).
require('../registry/import-module').loadedAsCommonJs();
module.exports = require('./reduce-runner').reduceInThread;
