#!/usr/bin/env bash
# The GPU backend on a GPU machine: build (Release, CUDA on), every gpu-labelled test (op kernels,
# cuBLASLt GEMM, attention kernels, the model vs the CPU, dense/star/ring on logical hosts), a
# compute-sanitizer memcheck pass over the op and model tests, then the CLI on --device cuda
# against --device cpu on the default model.
# Last, when mpirun exists: star and ring with --device cuda on 2 MPI processes against 2
# in-process logical hosts (identical predictions expected: the same kernels in the same order;
# NCCL when each rank has a GPU of its own, device buffers staged through MPI otherwise).
#   tools/test_cuda.sh [--no-sanitizer] [--no-cli]
# Needs the default model (tools/fetch_model) for the default-model cases and the CLI check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${STARATTN_BUILD_DIR:-$root/build}"
sanitizer=1
cli=1
for a in "$@"; do
  case "$a" in
    --no-sanitizer) sanitizer=0 ;;
    --no-cli) cli=0 ;;
    *) echo "usage: $0 [--no-sanitizer] [--no-cli]" >&2; exit 2 ;;
  esac
done

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTARATTN_CUDA=ON > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
grep -E "starattn: (CUDA|MPI|NCCL)" "$build.configure.log" || true
cmake --build "$build" -j "$(nproc)" --target starattn cuda_ops_test cuda_backend_test cuda_device_communicator_test \
  cuda_merge_states_test cuda_attention_fwd_test cuda_attention_decode_test 2>&1 |
  tee "$build/cuda_build.log" | grep -E "error|warning" || true

# Every gpu test; a skip here (no device) is a failure of this script.
(cd "$build" && ctest -L gpu --output-on-failure) | tee "$build/cuda_ctest.log"
if grep -q "Skipped" "$build/cuda_ctest.log"; then
  echo "test_cuda: some gpu tests were skipped on a GPU machine" >&2
  exit 1
fi

if [[ $sanitizer == 1 ]] && command -v compute-sanitizer > /dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/cuda_ops_test"
  compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/cuda_backend_test" \
    --gtest_filter='CudaBackendTest.Qwen2*:CudaBackendTest.Greedy*:CudaHostsTest.*'
fi

if [[ $cli == 1 ]]; then
  model="${STARATTN_MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
  prompt="The capital of France is"
  echo "--- generate, cpu vs cuda (greedy; bf16 may differ after a near-tie)"
  "$build/starattn" generate --model "$model" --prompt "$prompt" -n 24 --device cpu
  "$build/starattn" generate --model "$model" --prompt "$prompt" -n 24 --device cuda -v
  echo "--- logits top-1 per position, cpu vs cuda"
  "$build/starattn" logits --model "$model" --prompt "$prompt" -k 1 --device cpu
  "$build/starattn" logits --model "$model" --prompt "$prompt" -k 1 --device cuda
fi

if [[ $cli == 1 ]] && command -v mpirun > /dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  python3 "$root/tests/cli/make_samples.py" "$tmp/in.jsonl" 2 30
  preds() { python3 -c 'import json,sys; [print(json.loads(l)["sample_key"], json.loads(l)["pred"]) for l in open(sys.argv[1])]' "$1"; }
  for attn in star ring; do
    extra=()
    [ "$attn" = star ] && extra=(--block-size 160)
    "$build/starattn" run --model "$model" --attn $attn --hosts 2 "${extra[@]}" --device cuda \
      --input "$tmp/in.jsonl" --output "$tmp/inproc_$attn.jsonl" -n 12 -q
    mpirun --oversubscribe -np 2 "$build/starattn" run --model "$model" --attn $attn --hosts 2 \
      "${extra[@]}" --device cuda --input "$tmp/in.jsonl" --output "$tmp/mpi_$attn.jsonl" -n 12 -q
    if ! diff <(preds "$tmp/inproc_$attn.jsonl") <(preds "$tmp/mpi_$attn.jsonl"); then
      echo "FAIL: $attn --device cuda: in-process and MPI predictions differ"; exit 1
    fi
    echo "ok: $attn --device cuda, 2 hosts: $(preds "$tmp/mpi_$attn.jsonl" | tr '\n' '|')"
  done
fi
echo "test_cuda: done"
