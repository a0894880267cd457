// Test files in an order that keeps both forks busy to the end: the long end-to-end files start first.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files, longest first (seconds on this 2-core machine, `npm test` with the JSON
 * reporter). A clean clone has no vitest cache of durations, and vitest then starts larger files
 * first: a short file that runs two minutes would start last and hold the run open alone.
 */
const SLOW_FIRST: readonly string[] = [
  'test/e2e/scheduler-failover.test.ts', // ~110 s
  'test/e2e/chaos.test.ts', // ~85 s
  'test/e2e/bench-smoke.test.ts', // ~80 s
  'test/e2e/worker-loss.test.ts', // ~75 s
  'test/e2e/schedules.test.ts', // ~45 s
  'test/e2e/autoscale.test.ts', // ~40 s
  'test/e2e/cluster-launcher.test.ts', // ~40 s
  'test/e2e/cluster-autoscale.test.ts', // ~30 s
  'test/e2e/package-install.test.ts', // ~35 s
  'test/e2e/cli-start.test.ts', // ~28 s
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const at = SLOW_FIRST.indexOf(relative(spec.project.config.root, spec.moduleId));
      return at === -1 ? SLOW_FIRST.length : at;
    };
    return sorted.map((spec, i) => ({ spec, i })).sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i).map(({ spec }) => spec);
  }
}
