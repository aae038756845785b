#!/usr/bin/env bash
# In-process hosts and MPI processes (2 and 4) give identical predictions for star and ring.
#   usage: run_mpi_test.sh STARATTN MODEL
set -euo pipefail
bin="$1"; model="$2"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
python3 "$here/make_samples.py" "$tmp/in.jsonl" 2 30
preds() { python3 -c 'import json,sys; [print(json.loads(l)["sample_key"], json.loads(l)["pred"]) for l in open(sys.argv[1])]' "$1"; }
for hosts in 2 4; do
  for attn in star ring; do
    extra=()
    [ "$attn" = star ] && extra=(--block-size 160)
    "$bin" run --model "$model" --attn $attn --hosts $hosts "${extra[@]}" --input "$tmp/in.jsonl" \
      --output "$tmp/inproc_${attn}_$hosts.jsonl" -n 12 -q
    mpirun --oversubscribe -np $hosts "$bin" run --model "$model" --attn $attn --hosts $hosts \
      "${extra[@]}" --input "$tmp/in.jsonl" --output "$tmp/mpi_${attn}_$hosts.jsonl" -n 12 -q -t 1
    if ! diff <(preds "$tmp/inproc_${attn}_$hosts.jsonl") <(preds "$tmp/mpi_${attn}_$hosts.jsonl"); then
      echo "FAIL: $attn on $hosts hosts: in-process and MPI predictions differ"; exit 1
    fi
    n=$(wc -l < "$tmp/mpi_${attn}_$hosts.jsonl")
    [ "$n" -eq 2 ] || { echo "FAIL: expected 2 predictions, got $n"; exit 1; }
    grep -q '"communicator":"mpi"' "$tmp/mpi_${attn}_$hosts.jsonl" || { echo "FAIL: not an MPI run"; exit 1; }
    echo "ok: $attn, $hosts hosts: $(preds "$tmp/mpi_${attn}_$hosts.jsonl" | tr '\n' '|')"
  done
done
# A host count that does not match the world size is an error.
if mpirun --oversubscribe -np 2 "$bin" run --model "$model" --attn star --hosts 3 --block-size 100 \
    --input "$tmp/in.jsonl" --output "$tmp/bad.jsonl" -q 2> "$tmp/err"; then
  echo "FAIL: --hosts 3 under 2 MPI processes was accepted"; exit 1
fi
grep -q "does not match the MPI world size 2" "$tmp/err" || { cat "$tmp/err"; echo "FAIL: wrong error"; exit 1; }
echo "all MPI checks passed"
