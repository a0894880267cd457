// Thread entry for the scheduler's Raft node: loads consensus-thread. In the package it runs as it
// is, next to the compiled JavaScript of dist/; in the repo the node runs it bundled with the
// TypeScript it requires (src/registry/thread-code.ts; why CommonJS: src/registry/import-module.ts).
require('./consensus-thread');
