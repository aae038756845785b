#!/usr/bin/env bash
# `sweep` end to end on a small config; run in a --samples step, interrupted (a --limit stop, then a torn line as a kill
# would leave) and rerun, every sample is in the results exactly once and scored.
#   usage: sweep_resume_test.sh STARATTN SOURCE_DIR
set -euo pipefail
bin="$1"; src="$2"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/small.json" <<JSON
{
  "name": "small",
  "models": [{"label": "smollm2", "path": "$src/models/SmolLM2-135M-Instruct.Q4_1.gguf"}],
  "template": "chat", "samples": 2, "seed": 3,
  "ruler": {"tasks": ["niah_single_1"], "lengths": [1024],
            "wordlists": "$src/../shared/data/wordlists"},
  "babilong": {"tasks": ["qa1"], "lengths": ["1k"], "books": "$src/data/books"},
  "attention": [{"label": "dense", "mode": "dense"},
                {"label": "star-h2-b4", "mode": "star", "hosts": 2, "block": "L/4"}]
}
JSON
# --samples 1: every configuration gets sample 0 of every task, nothing more.
"$bin" sweep "$tmp/small.json" --out "$tmp/res" --samples 1 2> "$tmp/log0"
for attn in dense star-h2-b4; do
  keys="$(python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l)["sample_key"] for l in open(sys.argv[1]))))' "$tmp/res/smollm2/$attn/1k/pred.jsonl")"
  [ "$keys" = "niah_single_1/0 qa1/0" ] || { echo "FAIL: --samples 1 ran '$keys' for $attn"; exit 1; }
done
if "$bin" sweep "$tmp/small.json" --out "$tmp/res" --samples 3 2> "$tmp/err"; then
  echo "FAIL: --samples 3 accepted for a 2-sample config"; exit 1
fi
grep -q "^starattn sweep: error: --samples 3: must be 1 to the config's samples (2)$" "$tmp/err" ||
  { cat "$tmp/err"; echo "FAIL: wrong --samples error"; exit 1; }
"$bin" sweep "$tmp/small.json" --out "$tmp/res" --limit 3 2> "$tmp/log1"
# A kill during a write leaves a torn line.
printf '{"sample_key":"qa1/1","pred":"x' >> "$tmp/res/smollm2/dense/1k/pred.jsonl"
"$bin" sweep "$tmp/small.json" --out "$tmp/res" 2> "$tmp/log2"
grep -q "reusing ruler data" "$tmp/log2" || { cat "$tmp/log2"; echo "FAIL: data not reused"; exit 1; }
python3 - "$tmp/res" <<'PY'
import json, os, sys
res = sys.argv[1]
for attn in ("dense", "star-h2-b4"):
    d = os.path.join(res, "smollm2", attn, "1k")
    keys = [json.loads(l)["sample_key"] for l in open(os.path.join(d, "pred.jsonl"))]
    assert sorted(keys) == ["niah_single_1/0", "niah_single_1/1", "qa1/0", "qa1/1"], (attn, keys)
    s = json.load(open(os.path.join(d, "summary.json")))
    assert "niah_single_1" in json.dumps(s) and "qa1" in json.dumps(s), s
    assert os.path.exists(os.path.join(d, "summary.csv"))
m = json.load(open(os.path.join(res, "manifest.json")))
for k in ("config", "git_commit", "machine", "seeds", "runs", "version", "first_started"):
    assert k in m, k
# Three invocations ran units: each run records the commit that computed it.
assert len(m["runs"]) >= 3 and all("git_commit" in r and "git_dirty" in r for r in m["runs"]), m["runs"]
print("ok: each sample once after interruption; summaries and manifest written")
PY
# Config errors are one line, non-zero.
echo '{"name": "bad", "samples": 1}' > "$tmp/bad.json"
if "$bin" sweep "$tmp/bad.json" --out "$tmp/bad" 2> "$tmp/err"; then echo "FAIL: bad config accepted"; exit 1; fi
[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "bad.json: 'models' must be a non-empty list" "$tmp/err" ||
  { cat "$tmp/err"; echo "FAIL: wrong error"; exit 1; }
echo "all sweep checks passed"
