#!/usr/bin/env bash
# `run` resumes: finished samples are kept, none is duplicated, a torn last line is dropped;
# bad configurations are one-line errors with a non-zero exit.
#   usage: run_resume_test.sh STARATTN MODEL
set -euo pipefail
bin="$1"; model="$2"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 "$here/make_samples.py" "$tmp/in.jsonl" 4 8
run() { "$bin" run --model "$model" --attn star --hosts 2 --block-size 64 --input "$tmp/in.jsonl" -n 6 -q "$@"; }
run --output "$tmp/a.jsonl" --limit 2
[ "$(wc -l < "$tmp/a.jsonl")" -eq 2 ] || { echo "FAIL: --limit 2"; exit 1; }
# Simulate a kill mid-write: a torn line at the end.
printf '{"sample_key":"2","pred":"tor' >> "$tmp/a.jsonl"
run --output "$tmp/a.jsonl"
python3 - "$tmp/a.jsonl" <<'PY'
import json, sys
keys = [json.loads(l)["sample_key"] for l in open(sys.argv[1])]
assert sorted(keys) == ["0", "1", "2", "3"], keys
print("ok: resumed, each sample once:", keys)
PY
# A full uninterrupted run gives the same predictions.
run --output "$tmp/b.jsonl"
python3 - "$tmp/a.jsonl" "$tmp/b.jsonl" <<'PY'
import json, sys
a = {json.loads(l)["sample_key"]: json.loads(l)["pred"] for l in open(sys.argv[1])}
b = {json.loads(l)["sample_key"]: json.loads(l)["pred"] for l in open(sys.argv[2])}
assert a == b, (a, b)
print("ok: resumed predictions equal an uninterrupted run")
PY
expect_error() {  # expect_error PATTERN ARGS...
  local pattern="$1"; shift
  if "$bin" run --model "$model" --input "$tmp/in.jsonl" --output "$tmp/x.jsonl" -q "$@" 2> "$tmp/err"; then
    echo "FAIL: accepted: $*"; exit 1
  fi
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || { cat "$tmp/err"; echo "FAIL: not one line: $*"; exit 1; }
  grep -q -- "$pattern" "$tmp/err" || { cat "$tmp/err"; echo "FAIL: wrong error for $*"; exit 1; }
}
expect_error "block-size > 0" --attn star --hosts 2 --block-size 0
expect_error "anchor size 100 must be in" --attn star --hosts 2 --block-size 50 --anchor-size 100
expect_error "hosts but the" --attn star --hosts 64 --block-size 64
expect_error "exceeds the model's maximum positions" --attn star --hosts 1 --block-size 64 -n 9000
expect_error "dense attention runs on one host" --attn dense --hosts 2
expect_error "unknown attention mode" --attn sparse
expect_error "unknown anchor source" --attn star --block-size 64 --anchor-source middle
printf '{"input_context": "x"' > "$tmp/bad.jsonl"
if "$bin" run --model "$model" --input "$tmp/bad.jsonl" --output "$tmp/x.jsonl" -q 2> "$tmp/err"; then
  echo "FAIL: malformed input accepted"; exit 1
fi
grep -q "bad.jsonl:1: invalid JSON" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "all resume and error checks passed"
