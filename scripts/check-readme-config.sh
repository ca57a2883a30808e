#!/usr/bin/env bash
# Fails when README.md's configuration table and src/config/config.ts (CONFIG_VARIABLES) disagree:
# every variable the code reads must have a row, and every row must be a variable the code reads.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly CONFIG=src/config/config.ts
readonly README=README.md

if [[ ! -f "$CONFIG" ]]; then
  echo "check-readme-config: $CONFIG not found" >&2
  exit 1
fi

# The names listed in CONFIG_VARIABLES: `{ name: 'PORT', ... }`.
in_code="$(sed -n '/CONFIG_VARIABLES = \[/,/^\] as const;/p' "$CONFIG" |
  grep -oE "name: '[A-Z0-9_]+'" | sed -E "s/name: '([A-Z0-9_]+)'/\1/" | sort -u)"
# The first column of the table between the config-table markers: "| `PORT` | ...".
in_readme="$(sed -n '/<!-- config-table:start -->/,/<!-- config-table:end -->/p' "$README" |
  grep -oE '^\| `[A-Z0-9_]+`' | sed -E 's/^\| `([A-Z0-9_]+)`/\1/' | sort -u)"

if [[ -z "$in_code" ]]; then
  echo "check-readme-config: found no CONFIG_VARIABLES names in $CONFIG" >&2
  exit 1
fi

missing="$(comm -23 <(echo "$in_code") <(echo "$in_readme"))"
extra="$(comm -13 <(echo "$in_code") <(echo "$in_readme"))"
status=0
if [[ -n "$missing" ]]; then
  echo "check-readme-config: README.md's configuration table lacks: $(echo $missing)" >&2
  status=1
fi
if [[ -n "$extra" ]]; then
  echo "check-readme-config: README.md's configuration table lists variables the code does not read: $(echo $extra)" >&2
  status=1
fi
if ((status == 0)); then
  echo "check-readme-config: README.md documents all $(echo "$in_code" | wc -l) configuration variables"
fi
exit "$status"
