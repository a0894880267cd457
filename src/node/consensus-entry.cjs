// Thread entry for the scheduler's Raft node: loads consensus-thread, compiled JavaScript beside
// this file in the package (dist/), or in the repo the TypeScript source through tsx's CommonJS
// hook, compiled in this thread (why CommonJS: src/registry/import-module.ts).
const fromSource = require('node:fs').existsSync(`${__dirname}/consensus-thread.ts`);
if (fromSource) require('tsx/cjs/api').register();
require(`./consensus-thread${fromSource ? '.ts' : '.js'}`);
// Started: tsx's compiler, if this start needed it, is stopped (registry/tsx-compiler.ts).
if (fromSource) require('../registry/tsx-compiler.ts').stopTsxCompiler();
