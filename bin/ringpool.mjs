#!/usr/bin/env node
// The ringpool command: loads the TypeScript sources through tsx (no build step) and runs the CLI.
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

register();
const { main } = createRequire(import.meta.url)('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
