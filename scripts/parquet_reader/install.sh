#!/usr/bin/env bash
# Installs the independent Parquet reader's one dependency, DuckDB's npm package (pinned below),
# into .cache/parquet-reader/ (git-ignored; PARQUET_READER_DIR overrides the folder). Idempotent:
# does nothing when the pinned version is already installed and loads. Fails loudly (exit 1, one
# error line on stderr) when Node or npm is missing or npm cannot install it.
# Usage: scripts/parquet_reader/install.sh
set -euo pipefail
PACKAGE="@duckdb/node-api"
VERSION="1.5.6-r.1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${PARQUET_READER_DIR:-$root/.cache/parquet-reader}"

fail() {
  echo "error: Cannot install the Parquet reader ($PACKAGE@$VERSION into $dir): $1" >&2
  exit 1
}
command -v node >/dev/null || fail "node is not on PATH"
command -v npm >/dev/null || fail "npm is not on PATH"

# The installed version, if the package is there and its native binding loads.
loads() {
  (cd "$dir" 2>/dev/null && node --input-type=module -e "
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/package.json');
    const { version } = require('$PACKAGE/package.json');
    await import('$PACKAGE');
    console.log(version);" 2>/dev/null) || true
}

[ "$(loads)" = "$VERSION" ] && exit 0
echo "parquet reader: installing $PACKAGE@$VERSION into $dir" >&2
mkdir -p "$dir"
if ! log="$(npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
  "$PACKAGE@$VERSION" 2>&1)"; then
  echo "$log" >&2
  fail "npm install failed (output above)"
fi
[ "$(loads)" = "$VERSION" ] || fail "npm finished but $PACKAGE@$VERSION does not load from $dir"
echo "parquet reader: $PACKAGE@$VERSION ready on Node $(node --version)" >&2
