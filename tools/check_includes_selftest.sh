#!/usr/bin/env bash
# The include-cycle check fails on a tree with a cycle between engine folders and passes
# without it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/engine/model" "$tmp/engine/cpu"
echo '#include "engine/cpu/ops.h"' > "$tmp/engine/model/model.cc"
echo '#pragma once' > "$tmp/engine/cpu/ops.h"
python3 "$here/check_includes.py" --root "$tmp"
echo '#include "engine/model/model.h"' > "$tmp/engine/cpu/backend.cc"
if python3 "$here/check_includes.py" --root "$tmp" 2> "$tmp/err"; then
  echo "check_includes_selftest: a cycle went unnoticed" >&2
  exit 1
fi
grep -q "include cycle between folders: engine/cpu -> engine/model -> engine/cpu" "$tmp/err"
# Test files may include anything.
rm "$tmp/engine/cpu/backend.cc"
echo '#include "engine/cpu/ops.h"' > "$tmp/engine/cpu/ops_test.cc"
echo '#include "engine/model/model.h"' > "$tmp/engine/cpu/x_test.cc"
python3 "$here/check_includes.py" --root "$tmp"
echo "check_includes_selftest: ok"
