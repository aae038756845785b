#!/usr/bin/env bash
# Issue 14's speed measurements in one run, on a quiet machine: `starattn bench` at 8K on the
# default model for dense and each sparse mode at the issue's settings (block-sparse at 25%
# density, token streaming 64 + 256, top-k KV over 25% of the context blocks), with lscpu, the
# commit and the commands. The bench table's attn_s (attention time in prefill), scores and
# read_MiB (K/V bytes read per decoded token) columns give the ratios against dense.
#
#   tools/bench_sparse.sh OUT_DIR [--threads 2] [--length 8192] [--repeats 3] [--ubatch 2048]
#                         [--bin STARATTN]
# --ubatch: prefill chunk (every mode the same; 2048 is dense's faster setting here: each chunk
# repacks the K/V before it for the bf16 kernels, so fewer chunks repack less).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: tools/bench_sparse.sh OUT_DIR [--threads N] [--length L] [--repeats R] [--bin B]}"
shift
threads=2 length=8192 repeats=3 ubatch=2048 bin="$root/build/starattn"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --length) length="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --ubatch) ubatch="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    *) echo "bench_sparse: unknown option $1" >&2; exit 2 ;;
  esac
done
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$out"
lscpu > "$out/lscpu.txt"
{ date -u +%FT%TZ; git -C "$root" rev-parse HEAD; uptime; } > "$out/run.txt"
run() {
  local name="$1"; shift
  local cmd=("$bin" bench --model "$model" --lengths "$length" --threads "$threads"
             --decode-tokens 64 --repeats "$repeats" --warmup 1 --ubatch "$ubatch" --json "$out/$name.json" "$@")
  echo "--- $name: ${cmd[*]#$root/}" | tee -a "$out/run.txt"
  OMP_NUM_THREADS="$threads" "${cmd[@]}" | tee "$out/$name.txt"
}
run dense --attn dense
run block-sparse-d25 --attn block-sparse --density 0.25 --sparse-block 128
run stream-t64-256 --attn streaming --sink 64 --local 256
run stream-b1-3 --attn streaming --sink 1 --local 3 --stream-unit blocks --sparse-block 128
run topk-kv-f25 --attn topk-kv --topk-fraction 0.25 --topk-sink 64 --topk-block 128 --recency 256
uptime >> "$out/run.txt"
