/**
 * `npm run depcruise`: checks the layer rules of .dependency-cruiser.cjs with dependency-cruiser's
 * API (its command line refuses Node.js 20, which Nimbus supports). Prints one line per violation,
 * with the cycle for a cycle, and exits 1 when there is any.
 *
 *   node scripts/check-layers.mjs [--base-dir DIR] [roots...]
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const require = createRequire(import.meta.url);
const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_ROOTS = ['src', 'projections', 'sagas', 'scripts'];

/**
 * Cruises `roots` (relative to `baseDir`) with the project's rules and returns the violations as
 * lines of text, empty when the layers hold.
 */
export async function checkLayers({
  baseDir = PROJECT_ROOT,
  roots = DEFAULT_ROOTS,
  tsConfig,
} = {}) {
  const config = require(resolve(PROJECT_ROOT, '.dependency-cruiser.cjs'));
  const { tsConfig: tsConfigOption, ...options } = config.options;
  const tsConfigFile = tsConfig ?? resolve(PROJECT_ROOT, tsConfigOption.fileName);
  const result = await cruise(
    roots,
    { ...options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden } },
    undefined,
    tsConfig === false ? {} : { tsConfig: extractTSConfig(tsConfigFile) },
  );
  return result.output.summary.violations.map(describe);
}

function describe(v) {
  const cycle = v.cycle?.length
    ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(' -> ')})`
    : '';
  return `${v.rule.name}: ${v.from} -> ${v.to}${cycle}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const baseAt = args.indexOf('--base-dir');
  const baseDir = baseAt >= 0 ? resolve(args.splice(baseAt, 2)[1]) : PROJECT_ROOT;
  const roots = args.length > 0 ? args : DEFAULT_ROOTS;
  const violations = await checkLayers({ baseDir, roots });
  for (const line of violations) console.error(line);
  if (violations.length > 0) {
    console.error(`layer rules: ${violations.length} violation(s); see .dependency-cruiser.cjs`);
    process.exit(1);
  }
  console.log('layer rules: no violations');
}
