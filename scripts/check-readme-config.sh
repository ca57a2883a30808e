#!/usr/bin/env bash
# Fails when README.md's configuration table differs from the one generated from
# the configuration schema in src/config/config.ts (CONFIG_SCHEMA): run `npm run docs:config` to rewrite it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node scripts/docs-config.mjs --check
