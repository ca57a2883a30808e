/**
 * `npm run docs:config`: writes the README's configuration table (between the config-table markers)
 * from the configuration schema in src/config/config.ts (CONFIG_SCHEMA and its CONFIG_DOCS). With `--check` it writes nothing and exits 1 when
 * the README's table differs from the generated one (scripts/check-readme-config.sh, run by CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { transformFile } from '@swc/core';
import { format } from 'prettier';

const root = resolve(import.meta.dirname, '..');
const readmePath = join(root, 'README.md');
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

/** Compiles src/config/config.ts in memory and loads it as a module of its own folder (so it finds zod). */
async function configTableRows() {
  const filename = join(root, 'src/config/config.ts');
  const { code } = await transformFile(filename, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  const mod = new Module(filename);
  mod.filename = filename;
  mod.paths = Module._nodeModulePaths(dirname(filename));
  mod._compile(code, filename);
  return mod.exports.configTableRows();
}

const cell = (text) => text.replace(/\|/g, '\\|');

async function generatedTable() {
  const rows = (await configTableRows()).map(
    (v) => `| \`${v.name}\` | ${cell(v.default)} | ${cell(v.doc)} |`,
  );
  const table = ['| variable | default | what it does |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
  return (await format(table, { parser: 'markdown', filepath: readmePath })).trim();
}

const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`docs:config: README.md lacks the ${START} ... ${END} markers`);
  process.exit(1);
}
const current = readme.slice(start + START.length, end).trim();
const wanted = await generatedTable();

if (process.argv.includes('--check')) {
  if (current !== wanted) {
    console.error(
      "check-readme-config: README.md's configuration table differs from src/config/config.ts (CONFIG_SCHEMA); run npm run docs:config",
    );
    process.exit(1);
  }
  console.log(
    `check-readme-config: README.md documents all ${wanted.split('\n').length - 2} configuration variables`,
  );
} else {
  writeFileSync(
    readmePath,
    `${readme.slice(0, start + START.length)}\n\n${wanted}\n\n${readme.slice(end)}`,
  );
  console.log('docs:config: README.md configuration table written');
}
