#!/usr/bin/env bash
# Re-resolves tinytx[dev] against today's package index in a scratch virtualenv and
# rewrites requirements/constraints.txt with the exact versions it got. After a refresh,
# run `make test` and re-measure what depends on the versions (docs/testing.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
OUT="$ROOT/requirements/constraints.txt"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

"$PYTHON" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$scratch/venv/bin/python" -m pip install -q --disable-pip-version-check "$ROOT[dev]"
setuptools="$("$scratch/venv/bin/python" -m pip index versions setuptools 2>/dev/null \
  | sed -n 's/^setuptools (\(.*\))$/\1/p')"
{
  sed -n '1,/^pip==/{/^pip==/!p}' "$OUT"
  "$scratch/venv/bin/python" -m pip --version | awk '{print "pip==" $2}'
  echo "setuptools==${setuptools:?could not find the newest setuptools}"
  "$scratch/venv/bin/python" -m pip freeze --exclude-editable \
    | grep -v -i -e '^tinytx' -e '^setuptools==' -e '^pip=='
} > "$OUT.new"
mv "$OUT.new" "$OUT"
echo "refresh-pins: wrote $OUT"
