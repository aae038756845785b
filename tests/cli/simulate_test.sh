#!/usr/bin/env bash
# simulate from the command line: a paper setup runs and echoes its inputs; bad input (a missing
# or non-positive hardware field, a block the context cannot hold, an unknown model, a malformed
# length) gives a one-line error naming it and exit code 2.
#   usage: simulate_test.sh STARATTN SOURCE_DIR
set -euo pipefail
bin="$1"; src="$2"
hw="$src/tasks/hardware/a100-nvlink.json"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$bin" simulate --hardware "$hw" --model llama-3.1-8b --hosts 4 --devices-per-host 2 \
    --lengths 16k 128k --json "$tmp/out.json" > "$tmp/out.md"
for s in "## Speedup of star" "peak_flops 3.12e+14" "| 128K | dense | 1 x 8 |" "no (OOM)"; do
  grep -qF "$s" "$tmp/out.md" || { echo "FAIL: '$s' missing from the output"; exit 1; }
done
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert len(j['rows']) == 2" "$tmp/out.json"
# The shape from GGUF metadata and from config.json (the tiny test model), as the engine reads them.
shape="2 layers, d_model 64, 4 heads, 2 KV heads, head dim 16, d_ff 128, vocab 256, tied"
for m in "$src/tests/fixtures/tiny/llama-tied/model.gguf" "$src/tests/fixtures/tiny/llama-tied/hf"; do
  "$bin" simulate --hardware "$hw" --model "$m" --hosts 2 --lengths 1024 > "$tmp/tiny.md"
  grep -qF "$shape" "$tmp/tiny.md" || { cat "$tmp/tiny.md"; echo "FAIL: shape of $m"; exit 1; }
done

expect_error() {  # expect_error NEEDLE ARGS...: exit 2 and one stderr line containing NEEDLE
  local needle="$1"; shift
  set +e
  "$bin" simulate "$@" > /dev/null 2> "$tmp/err.txt"; local rc=$?
  set -e
  [ "$rc" -eq 2 ] || { cat "$tmp/err.txt"; echo "FAIL: exit $rc for '$needle', want 2"; exit 1; }
  [ "$(wc -l < "$tmp/err.txt")" -eq 1 ] || { cat "$tmp/err.txt"; echo "FAIL: not one line"; exit 1; }
  grep -qF -- "$needle" "$tmp/err.txt" || { cat "$tmp/err.txt"; echo "FAIL: no '$needle'"; exit 1; }
}
python3 - "$hw" "$tmp" <<'PY'
import json, sys
hw = json.load(open(sys.argv[1]))
missing = dict(hw); del missing["link_bandwidth"]
json.dump(missing, open(sys.argv[2] + "/missing.json", "w"))
negative = dict(hw); negative["peak_flops"] = -1
json.dump(negative, open(sys.argv[2] + "/negative.json", "w"))
PY
expect_error "field 'link_bandwidth': missing" --hardware "$tmp/missing.json" --model llama-3.1-8b --lengths 16k
expect_error "field 'peak_flops': must be positive" --hardware "$tmp/negative.json" --model llama-3.1-8b --lengths 16k
expect_error "block size 8192 does not fit the 4096-token context" --hardware "$hw" --model llama-3.1-8b --lengths 4k --block 8k
expect_error "--model 'llama-9'" --hardware "$hw" --model llama-9 --lengths 4k
expect_error "--lengths: '16q' is not a length" --hardware "$hw" --model llama-3.1-8b --lengths 16q
expect_error "--hosts must be positive" --hardware "$hw" --model llama-3.1-8b --lengths 16k --hosts 0
expect_error "hardware" --model llama-3.1-8b --lengths 16k
echo "all simulate checks passed"
