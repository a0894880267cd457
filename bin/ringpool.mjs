#!/usr/bin/env node
// The ringpool command. From the package it runs the compiled JavaScript in dist/; in the repo,
// where src/ is, the TypeScript sources through tsx's CommonJS hook (no build step; why not its
// ESM hook: src/registry/import-module.ts). A dist/ left in the repo by a build is never used.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const fromSource = existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (fromSource) (await import('tsx/cjs/api')).register();
const require = createRequire(import.meta.url);
const [dir, ext] = fromSource ? ['../src', '.ts'] : ['../dist', '.js'];
require(`${dir}/registry/import-module${ext}`).loadedAsCommonJs(fromSource);
const { main } = require(`${dir}/cli/main${ext}`);
process.exitCode = await main(process.argv.slice(2));
