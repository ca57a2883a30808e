import type { Reporter, SerializedError, TestModule } from 'vitest/node' with {
  'resolution-mode': 'import',
};

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, so that any tool reading
 * the end of a CI log can tell how many tests ran without knowing vitest's own format.
 *
 * A file that failed outside its tests (a failing beforeAll, an import error) leaves its tests
 * marked skipped; such a file counts as one failure, and so does an unhandled error, so the line
 * never says "0 failed" for a run that failed.
 *
 * Above it, the slowest files (import plus tests and hooks), so CI time has a place to look.
 */
const SLOWEST_SHOWN = 10;

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    let filesFailedOutsideTests = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      failed += failedHere;
      if (failedHere === 0 && mod.state() === 'failed') filesFailedOutsideTests++;
    }
    failed += filesFailedOutsideTests + unhandledErrors.length;
    const notes: string[] = [];
    if (filesFailedOutsideTests > 0)
      notes.push(`${filesFailedOutsideTests} file(s) failed outside their tests`);
    if (unhandledErrors.length > 0) notes.push(`${unhandledErrors.length} unhandled error(s)`);
    printSlowest(testModules);
    const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    process.stdout.write(
      `\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped${suffix}\n`,
    );
  }
}

function printSlowest(testModules: ReadonlyArray<TestModule>): void {
  const timed = testModules
    .map((mod) => {
      const d = mod.diagnostic();
      return { file: mod.relativeModuleId, seconds: (d.collectDuration + d.duration) / 1000 };
    })
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, SLOWEST_SHOWN);
  if (timed.length === 0) return;
  process.stdout.write('\nslowest files (import + tests):\n');
  for (const { file, seconds } of timed) {
    process.stdout.write(`  ${seconds.toFixed(1).padStart(7)}s  ${file}\n`);
  }
}
