#!/usr/bin/env bash
# CUDA attention on a GPU machine: build (Release, CUDA on), the gpu-labelled tests, a
# compute-sanitizer pass on small shapes, then the benchmark (ceilings, forward TFLOP/s at the
# FlashAttention-3 shape, decode bandwidth) with its JSON under results/perf/.
#   tools/bench_cuda_attention.sh [--quick] [--no-tests] [--no-sanitizer]
# Writes results/perf/cuda_attention_<gpu>_<date>.json and .txt (the table and the command).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${STARATTN_BUILD_DIR:-$root/build}"
quick=""
tests=1
sanitizer=1
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    --no-tests) tests=0 ;;
    --no-sanitizer) sanitizer=0 ;;
    *) echo "usage: $0 [--quick] [--no-tests] [--no-sanitizer]" >&2; exit 2 ;;
  esac
done

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTARATTN_CUDA=ON > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target starattn_cuda cuda_merge_states_test \
  cuda_attention_fwd_test cuda_attention_decode_test cuda_attention_bench 2>&1 |
  tee "$build/cuda_build.log" | grep -E "error|spill|Used [0-9]+ registers" || true

if [[ $tests == 1 ]]; then
  (cd "$build" && ctest -L gpu --output-on-failure)
fi
if [[ $sanitizer == 1 ]] && command -v compute-sanitizer > /dev/null; then
  for t in memcheck racecheck synccheck; do
    compute-sanitizer --tool "$t" --error-exitcode 1 "$build/tests/cuda_attention_fwd_test" \
      --gtest_filter='CudaAttentionFwdTest.EdgeCases:CudaAttentionFwdTest.SmallSweep'
    compute-sanitizer --tool "$t" --error-exitcode 1 "$build/tests/cuda_attention_decode_test" \
      --gtest_filter='CudaAttentionDecodeTest.SmallEdgeCases'
  done
  compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/cuda_attention_decode_test" \
    --gtest_filter='CudaAttentionDecodeTest.SmallSweep'
fi

gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9\n' '_' | tr -s '_')"
stamp="$(date -u +%Y%m%d)"
mkdir -p "$root/results/perf"
out="$root/results/perf/cuda_attention_${gpu:-gpu}_${stamp}"
{
  echo "command: tools/bench_cuda_attention.sh $* (git $(git -C "$root" rev-parse --short HEAD))"
  "$build/bench/cuda_attention_bench" --json "$out.json" $quick
} | tee "$out.txt"
