#!/usr/bin/env node
// The ringpool command: loads the TypeScript sources through tsx's CommonJS hook (no build step;
// why not its ESM hook: src/registry/import-module.ts) and runs the CLI.
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

register();
const require = createRequire(import.meta.url);
require('../src/registry/import-module.ts').loadedAsCommonJs();
const { main } = require('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
