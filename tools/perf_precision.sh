#!/usr/bin/env bash
# The measurements of the precision work (bf16 arithmetic, 16-bit K/V) in one run, on a quiet
# machine: lscpu; the CPU micro-benchmarks (arithmetic peaks, the GEMMs of the default model's
# shapes through our Eigen GEMM and oneDNN f32/bf16, attention); `starattn bench` dense at 4K and
# 8K for every precision, and for an older binary when one is given (the f32 path before this
# work); llama.cpp with flash attention on, side by side; memory on the default model and on a
# Llama-3.1-8B-shaped model when its directory exists.
#
#   tools/perf_precision.sh OUT_DIR [--baseline OLD_STARATTN] [--llamacpp-python PY]
#                                   [--big-model DIR] [--threads 2]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: tools/perf_precision.sh OUT_DIR [--baseline BIN] [--llamacpp-python PY] [--big-model DIR]}"
shift
baseline="" py="" big="" threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --baseline) baseline="$2"; shift 2 ;;
    --llamacpp-python) py="$2"; shift 2 ;;
    --big-model) big="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "perf_precision: unknown option $1" >&2; exit 2 ;;
  esac
done
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
bin="$root/build/starattn"
mkdir -p "$out"
lscpu > "$out/lscpu.txt"
{ date -u +%FT%TZ; git -C "$root" rev-parse HEAD; uptime; } > "$out/run.txt"

echo "--- micro-benchmarks"
"$root/build/bench/starattn_bench" --benchmark_min_time=0.3 \
  --benchmark_filter='BM_Peak|BM_GEMM/n:512|BM_GemmDnnl.*/n:512|BM_Attention/L:(4096|8192)' \
  --benchmark_out="$out/cpu_bench.json" --benchmark_out_format=json | tee "$out/cpu_bench.txt"

echo "--- starattn bench, dense prefill and decode"
for prec in "f32 f32" "bf16 f32" "bf16 bf16" "bf16 f16"; do
  set -- $prec
  "$bin" bench --model "$model" --attn dense --lengths 4096 8192 --threads "$threads" \
    --decode-tokens 32 --warmup 1 --compute "$1" --kv-dtype "$2" \
    --json "$out/dense_${1}_kv${2}.json" | tee "$out/dense_${1}_kv${2}.txt"
done
if [[ -n "$baseline" ]]; then
  "$baseline" bench --model "$model" --attn dense --lengths 4096 8192 --threads "$threads" \
    --decode-tokens 32 --warmup 1 --json "$out/dense_baseline.json" |
    tee "$out/dense_baseline.txt"
fi

if [[ -n "$py" ]]; then
  echo "--- llama.cpp side by side (flash attention on, default F16 K/V)"
  "$py" "$root/tools/llamacpp_side_by_side.py" --model "$model" --threads "$threads" \
    --lengths 4096 8192 --decode-tokens 32 --flash-attn --starattn "$bin" \
    --json "$out/side_by_side_fa.json" | tee "$out/side_by_side_fa.txt"
fi

if [[ -n "$big" && -d "$big" ]]; then
  echo "--- memory: the 8B-shaped model"
  "$bin" bench --model "$big" --attn dense --lengths 1024 --threads "$threads" \
    --decode-tokens 4 --json "$out/memory_8b_shape.json" | tee "$out/memory_8b_shape.txt"
fi
echo "perf_precision: results in $out"
