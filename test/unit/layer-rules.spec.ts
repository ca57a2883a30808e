import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers } from '../../scripts/check-layers.mjs';

// Vitest runs from the project root.
const fixture = (name: string): string => resolve('test/fixtures', name);

// `npm run check` runs the same rules on the project (npm run depcruise); these show they bite.
describe('layer rules (.dependency-cruiser.cjs)', () => {
  it('refuse a domain file that imports the framework', async () => {
    const violations = await checkLayers({
      baseDir: fixture('layer-violation'),
      roots: ['src'],
      tsConfig: false,
    });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(
      /^domain-is-pure: src\/shop\/domain\/order\.ts -> .*@nestjs\/common/,
    );
  });

  it('refuse two folders that import each other, even when no module is in a cycle', async () => {
    const violations = await checkLayers({
      baseDir: fixture('folder-cycle'),
      roots: ['src', 'sagas'],
      tsConfig: false,
    });
    expect(violations.filter((v) => v.startsWith('no-module-cycles'))).toEqual([]);
    const folderCycles = violations.filter((v) => v.startsWith('no-folder-cycles'));
    expect(folderCycles).toEqual(
      expect.arrayContaining([
        expect.stringContaining('src/compute/application -> sagas/instance-launch'),
        expect.stringContaining('sagas/instance-launch -> src/compute/application'),
      ]),
    );
    // And a saga reaching into a context's application code breaks a rule of its own.
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^projections-and-sagas-use-domain-and-ports: sagas\/instance-launch\/saga\.ts -> src\/compute\/application\/names\.ts/,
        ),
      ]),
    );
  });
});
