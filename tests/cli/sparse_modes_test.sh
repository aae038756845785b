#!/usr/bin/env bash
# The sparse attention modes from the CLI: each runs and records its attention work against
# dense's; bad settings are one-line errors with exit code 2 that write nothing and keep every
# earlier record; a sweep config with a mask that does not fit the model fails before any work.
#   usage: sparse_modes_test.sh STARATTN MODEL
set -euo pipefail
bin="$1"; model="$2"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# 2 samples of ~1,100 tokens (8 repetitions of the filler ~ 130 tokens each).
python3 "$here/make_samples.py" "$tmp/in.jsonl" 2 40
run() { "$bin" run --model "$model" --input "$tmp/in.jsonl" -n 4 -q "$@"; }
run --attn dense --output "$tmp/dense.jsonl"
run --attn streaming --sink 64 --local 256 --output "$tmp/stream.jsonl"
run --attn streaming --sink 1 --local 3 --stream-unit blocks --sparse-block 64 --output "$tmp/streamb.jsonl"
run --attn block-sparse --density 0.25 --output "$tmp/bs.jsonl"
run --attn topk-kv --topk-fraction 0.25 --output "$tmp/topk.jsonl"
cat > "$tmp/mask.json" <<'JSON'
{"block_size": 128, "head_mask_type": [0, -1, 0, -1, 0, -1, 0, -1, 0],
 "streaming": {"sink": 64, "local": 256, "unit": "tokens"}}
JSON
run --attn streaming --mask-file "$tmp/mask.json" --output "$tmp/mix.jsonl"
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
def work(name):
    recs = [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    assert len(recs) == 2, name
    w = [r["attention_work"] for r in recs]
    s = sum(x["prefill_scores"] for x in w) / sum(x["dense_prefill_scores"] for x in w)
    k = sum(x["decode_kv_bytes"] for x in w) / sum(x["dense_decode_kv_bytes"] for x in w)
    return recs, s, k
recs, s, k = work("dense")
assert s == 1 and k == 1, (s, k)
# ~1,100-token prompts: a 320-token window keeps ~0.55 of the causal scores, the estimator at
# 0.25 (plus its first and diagonal blocks) ~0.4, a half-dense mix ~0.78.
for name, lo, hi in [("stream", 0.3, 0.7), ("streamb", 0.3, 0.7), ("bs", 0.2, 0.6), ("mix", 0.65, 0.9)]:
    recs, s, k = work(name)
    print(f"{name}: prefill scores {s:.3f} of dense, decode K/V {k:.3f}")
    assert lo < s < hi, (name, s)
    assert k == 1, (name, k)  # decoding after a sparse prefill is dense
    assert recs[0]["attn"]["sparse"]["block"] in (64, 128), recs[0]["attn"]
recs, s, k = work("topk")
assert s == 1 and 0.2 < k < 0.9, (s, k)
assert recs[0]["attn"]["topk_kv"]["topk_fraction"] == 0.25
print(f"ok: topk: prefill scores {s:.3f}, decode K/V {k:.3f} of dense")
PY

# Bad input: one line, exit 2, the output untouched (absent, or its earlier records kept).
cp "$tmp/dense.jsonl" "$tmp/keep.jsonl"
expect_error() {  # expect_error PATTERN ARGS...
  local pattern="$1"; shift
  local rc=0
  "$bin" run --model "$model" --input "$tmp/in.jsonl" -n 4 -q "$@" --output "$tmp/new.jsonl" 2> "$tmp/err" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$tmp/err"; echo "FAIL: exit $rc, expected 2: $*"; exit 1; }
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || { cat "$tmp/err"; echo "FAIL: not one line: $*"; exit 1; }
  grep -qF -- "$pattern" "$tmp/err" || { cat "$tmp/err"; echo "FAIL: wrong error for $*"; exit 1; }
  [ ! -e "$tmp/new.jsonl" ] || { echo "FAIL: output written: $*"; exit 1; }
  # The same against a file with records: nothing lost, nothing added.
  rc=0
  "$bin" run --model "$model" --input "$tmp/in.jsonl" -n 4 -q "$@" --output "$tmp/keep.jsonl" 2> /dev/null || rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL: exit $rc with an existing output: $*"; exit 1; }
  cmp -s "$tmp/keep.jsonl" "$tmp/dense.jsonl" || { echo "FAIL: records changed: $*"; exit 1; }
}
echo '{"block_size": 128, "head_mask_type": [0, 0, 0], "streaming": {"sink": 1, "local": 1}}' > "$tmp/heads.json"
expect_error "'head_mask_type' has 3 heads, the model 9" --attn block-sparse --mask-file "$tmp/heads.json"
echo '{"block_size": 128, "head_mask_type": [[0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0]]}' > "$tmp/layers.json"
expect_error "'head_mask_type' has 2 layers, the model 30" --attn block-sparse --mask-file "$tmp/layers.json"
echo '{"block_size": 128, "head_mask_type": [1,1,1,1,1,1,1,1,1], "base_masks": [[[1,0],[1,1]]]}' > "$tmp/blocks.json"
expect_error "base mask 1 is 2 x 2 blocks, the" --attn block-sparse --mask-file "$tmp/blocks.json"
echo '{"block_size": 0, "head_mask_type": [0]}' > "$tmp/bsize.json"
expect_error "'block_size' must be a positive integer, got 0" --attn block-sparse --mask-file "$tmp/bsize.json"
echo '{"block_size": 128, "head_mask_type": [0, 2], "base_masks": [[[1]]]}' > "$tmp/missing.json"
expect_error "head type 2 names base mask 2, but 'base_masks' has 1" --attn block-sparse --mask-file "$tmp/missing.json"
expect_error "--density must be in (0, 1], got 0" --attn block-sparse --density 0
expect_error "--density must be in (0, 1], got 1.5" --attn block-sparse --density 1.5
expect_error "--topk-fraction must be in (0, 1], got 1.2" --attn topk-kv --topk-fraction 1.2
expect_error "topk-kv needs one of --topk" --attn topk-kv --topk-fraction 0
expect_error "--topk 999 exceeds the" --attn topk-kv --topk 999
expect_error "--sink + --local > 0, got 0 + 0" --attn streaming --sink 0 --local 0
expect_error "--density applies to attention block-sparse only" --attn streaming --sink 4 --local 4 --density 0.5
echo "ok: bad settings: one line, exit 2, nothing written, earlier records kept"

# A sweep whose mask does not fit the model: exit 2 before any data or results are written.
mkdir -p "$tmp/cfg"
cp "$tmp/heads.json" "$tmp/cfg/heads.json"
cat > "$tmp/cfg/sweep.json" <<JSON
{"name": "t", "samples": 1, "models": [{"label": "m", "path": "$model"}],
 "babilong": {"tasks": ["qa1"], "lengths": ["1k"]},
 "attention": [{"label": "bs", "mode": "block-sparse", "mask_file": "heads.json"}]}
JSON
rc=0
"$bin" sweep "$tmp/cfg/sweep.json" --out "$tmp/sweep" 2> "$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || { cat "$tmp/err"; echo "FAIL: sweep exit $rc"; exit 1; }
grep -qF "attention 'bs' at 1k (babilong) on model 'm'" "$tmp/err" || { cat "$tmp/err"; exit 1; }
grep -qF "'head_mask_type' has 3 heads, the model 9" "$tmp/err" || { cat "$tmp/err"; exit 1; }
[ ! -e "$tmp/sweep" ] || { echo "FAIL: the sweep wrote $tmp/sweep"; exit 1; }
echo "ok: sweep with a mask that does not fit: exit 2, nothing written"
echo "all sparse mode checks passed"
