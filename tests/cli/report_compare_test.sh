#!/usr/bin/env bash
# report and compare from the command line: report writes its tables and plots; compare passes an
# identical run (exit 0), flags an injected drop (exit 1) and rejects bad input (exit 2).
#   usage: report_compare_test.sh STARATTN SOURCE_DIR
set -euo pipefail
bin="$1"; src="$2"
fx="$src/tests/fixtures/report/results"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$bin" report "$fx" --out "$tmp/report" > "$tmp/report.md"
grep -q "RULER avg" "$tmp/report.md" || { echo "FAIL: no RULER average in the report"; exit 1; }
for f in report.md scores.csv deltas.csv timing.csv; do
  [ -s "$tmp/report/$f" ] || { echo "FAIL: report/$f missing"; exit 1; }
done
if command -v gnuplot > /dev/null; then
  n=$(find "$tmp/report" -name '*.png' | wc -l)
  [ "$n" -ge 3 ] || { echo "FAIL: only $n PNG plots"; exit 1; }
fi
base="$fx/m/dense"
"$bin" compare --baseline "$base" --candidate "$base" > "$tmp/same.txt" ||
  { cat "$tmp/same.txt"; echo "FAIL: identical runs flagged"; exit 1; }
# Inject a drop: break every correct prediction of the candidate copy.
mkdir -p "$tmp/cand"
cp -r "$base/." "$tmp/cand/"
for f in "$tmp"/cand/*/pred.jsonl; do
  python3 - "$f" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
with open(sys.argv[1], "w") as out:
    for r in lines:
        r["pred"] = "I do not know."
        out.write(json.dumps(r) + "\n")
PY
done
set +e
"$bin" compare --baseline "$base" --candidate "$tmp/cand" > "$tmp/drop.txt"; rc=$?
"$bin" compare --baseline "$base" --candidate "$tmp/missing" 2> "$tmp/err.txt"; rc_bad=$?
set -e
[ "$rc" -eq 1 ] || { cat "$tmp/drop.txt"; echo "FAIL: injected drop gave exit $rc, want 1"; exit 1; }
[ "$rc_bad" -eq 2 ] || { cat "$tmp/err.txt"; echo "FAIL: missing run gave exit $rc_bad, want 2"; exit 1; }
echo "all report/compare checks passed"
