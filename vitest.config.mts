import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Three tiers, one command: `npm test` runs them all.
//  unit: pure functions and deciders, no I/O, beside the code they test.
//  int:  real PostgreSQL (contract suites, projections, sagas), one database per test file.
//  e2e:  the whole HTTP app against real PostgreSQL, Docker and Open vSwitch.
//
// Unit and int files run first, three at a time: int files each own a database and name what
// they create by a per-file id, and spend most of their time waiting on PostgreSQL, Docker or
// OVN, so a third worker on two cores still shortens the run (int: 224 s with one, 117 s with
// three, measured). The e2e files run after them, two at a time (411 s against about 750 s with
// one): each worker gets its own external address pool and engine port range
// (test/support/worker-slot.ts), and each app its own OVN owner (test/support/ovn-owner.ts).
const PARALLEL_TIERS = { groupOrder: 0, maxWorkers: 3 };
const E2E_TIER = { groupOrder: 1, maxWorkers: 2 };
const swcPlugin = swc.vite({
  tsconfigFile: false,
  swcrc: false,
  module: { type: 'es6' },
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
});

export default defineConfig({
  plugins: [swcPlugin],
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        plugins: [swcPlugin],
        test: {
          name: 'unit',
          maxWorkers: PARALLEL_TIERS.maxWorkers,
          sequence: { groupOrder: PARALLEL_TIERS.groupOrder },
          include: [
            'src/**/*.unit.spec.ts',
            'projections/**/*.unit.spec.ts',
            'sagas/**/*.unit.spec.ts',
            'test/unit/**/*.spec.ts',
          ],
          environment: 'node',
        },
      },
      {
        plugins: [swcPlugin],
        test: {
          name: 'int',
          maxWorkers: PARALLEL_TIERS.maxWorkers,
          sequence: { groupOrder: PARALLEL_TIERS.groupOrder },
          include: [
            'src/**/*.int.spec.ts',
            'projections/**/*.int.spec.ts',
            'sagas/**/*.int.spec.ts',
            'test/contract/**/*.spec.ts',
            'test/int/**/*.spec.ts',
          ],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [swcPlugin],
        test: {
          name: 'e2e',
          setupFiles: ['test/support/worker-slot.ts'],
          maxWorkers: E2E_TIER.maxWorkers,
          sequence: { groupOrder: E2E_TIER.groupOrder },
          include: ['test/e2e/**/*.e2e.spec.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
