// Test runner configuration: one global Redis pair for the integration and e2e suites.
import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

export default defineConfig({
  // `ringpool/sdk` from jobs/ and tests: the repo's TypeScript, not the package's build (package.json
  // `exports`); the rest are Vite's defaults for server code but `module`, which Node does not use
  // either: OpenTelemetry's `module` builds import without file extensions, which Node cannot load.
  ssr: { resolve: { conditions: ['ringpool-source', 'node', 'development|production'] } },
  test: {
    include: ['test/**/*.test.ts', 'jobs/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run two at a time in forks so real worker threads and redis have room
    // (three at a time ran ~530 s instead of ~700 s, but an election slowed to 5 s under it).
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // The long end-to-end files first, so that neither fork is left with one at the end.
    sequence: { sequencer: SlowFirstSequencer },
  },
});
