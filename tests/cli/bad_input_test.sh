#!/usr/bin/env bash
# Hostile input at the command line: every class of bad input ends in one line on stderr and exit
# code 2 (failures at run time: 1), never std::terminate; earlier records are left intact and no
# half-written output stays behind. Needs no model (a tiny tokenizer.json is written here), so it
# also runs in the sanitized build.
#   usage: bad_input_test.sh STARATTN
set -euo pipefail
bin="$1"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# A tiny byte-level tokenizer.json; `huge` adds a vocab id near 2^30.
python3 - "$tmp" <<'PY'
import json, os, sys
d = sys.argv[1]
vocab = {p: i for i, p in enumerate(["a", "b", "c", "\u0120", "ab", "abc", "\u0120a"])}
tok = {"added_tokens": [{"id": 7, "content": "<|end|>", "special": True}],
       "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
       "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "vocab": vocab, "merges": ["a b", "ab c", "\u0120 a"]}}
os.makedirs(os.path.join(d, "tok"))
json.dump(tok, open(os.path.join(d, "tok", "tokenizer.json"), "w"))
tok["model"]["vocab"]["zz"] = (1 << 30) - 1
json.dump(tok, open(os.path.join(d, "huge.json"), "w"))
os.makedirs(os.path.join(d, "hf"))
json.dump({"model_type": 4, "hidden_size": 8}, open(os.path.join(d, "hf", "config.json"), "w"))
json.dump({"name": "x", "models": [{"label": "m", "path": "m.gguf"}],
           "ruler": {"tasks": ["niah_single_1"], "lengths": ["99999999999999999999"]},
           "attention": [{"label": "dense", "mode": "dense"}]},
          open(os.path.join(d, "sweep.json"), "w"))
# A model label that would put results outside the results tree (OUT/<model>/...).
json.dump({"name": "x", "models": [{"label": "..", "path": "m.gguf"}],
           "ruler": {"tasks": ["niah_single_1"], "lengths": [4096]},
           "attention": [{"label": "dense", "mode": "dense"}]},
          open(os.path.join(d, "sweep_label.json"), "w"))
# GGUF v3 files with one F32 tensor "t" and no metadata: dims that overflow, and data that the
# file does not hold.
import struct
def gguf(dims):
    b = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + struct.pack("<Q", 1) + b"t"
    b += struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", x) for x in dims)
    return b + struct.pack("<IQ", 0, 0)
open(os.path.join(d, "overflow.gguf"), "wb").write(gguf([1 << 40, 1 << 40]))
open(os.path.join(d, "short.gguf"), "wb").write(gguf([1024]) + b"\0" * 64)
PY
printf 'GGUF\3\0\0\0\1\0\0\0' > bad.gguf   # a truncated GGUF header

fails=0
# expect CODE PATTERN ARGS...: exit code CODE, exactly one line on stderr, matching PATTERN.
# The command's standard output goes to $stdout (out.txt unless set).
stdout=out.txt
expect() {
  local code="$1" pattern="$2"; shift 2
  local rc=0
  "$bin" "$@" > "$stdout" 2> err.txt || rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL: exit $rc, want $code: $*"; cat err.txt; fails=$((fails + 1)); return
  fi
  if [ "$(wc -l < err.txt)" -ne 1 ]; then
    echo "FAIL: stderr is not one line: $*"; cat err.txt; fails=$((fails + 1)); return
  fi
  if ! grep -q -- "$pattern" err.txt; then
    echo "FAIL: wrong message for $*: $(cat err.txt)"; fails=$((fails + 1)); return
  fi
  echo "ok ($code): $(cat err.txt)"
}

# Command line.
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "(see --help)" generate-ruler --tokenizer tok/tokenizer.json --samples x --lengths 4096 --out o
# An output directory that cannot be created (its parent is a file): filesystem_error -> exit 2.
touch afile
expect 2 "cannot create directories: Not a directory \[$tmp/afile/out" \
  generate-ruler --tokenizer tok/tokenizer.json --tasks niah_single_1 --lengths 4096 --samples 1 \
  --out "$tmp/afile/out"
# Numbers: overflow and garbage name the field.
expect 2 "\-\-lengths: .*99999999999999999999k" \
  generate-ruler --tokenizer tok/tokenizer.json --lengths 99999999999999999999k --out o
expect 2 "out of range" sweep sweep.json
expect 2 "sweep_label.json: models\[0\].'label' must name one directory" sweep sweep_label.json
# Model and tokenizer files.
expect 2 "bad.gguf: truncated" tokenize --model bad.gguf --text hi
expect 2 "overflow.gguf: tensor 't' element count overflows" tokenize --model overflow.gguf --text hi
expect 2 "short.gguf: tensor 't' (4096 bytes at data offset 0) extends past the end of the file" \
  tokenize --model short.gguf --text hi
expect 2 "huge.json: model.vocab entry 'zz' has id 1073741823, above the vocabulary" \
  tokenize --tokenizer huge.json --text hi
# (engine/model/config.cc reads model_type with json::value: the message does not name the file
# yet; results/fuzz/README.md, F1.)
expect 2 "model_type\|type must be string, but is number" tokenize --model hf --text hi
expect 2 "no such file or directory" tokenize --model missing.gguf --text hi
# Failures at run time: output that cannot be written.
stdout=/dev/full
expect 1 "cannot write the standard output: No space left on device" \
  tokenize --tokenizer tok/tokenizer.json --text ab
stdout=out.txt

# Earlier records survive a failing run, and nothing half-written stays behind.
printf '{"input_context": "a", "input_query": "b", "outputs": ["c"]}\n' > in.jsonl
printf '{"sample_key": "0", "pred": "earlier"}\n' > pred.jsonl
cp pred.jsonl pred.before
expect 2 "bad.gguf: truncated" run --model bad.gguf --attn dense --input in.jsonl --output pred.jsonl
cmp -s pred.jsonl pred.before || { echo "FAIL: run changed the earlier records"; fails=$((fails + 1)); }
# A sample whose fields its record would carry into eval badly (tokens_to_generate, outputs).
printf '{"input_context": "a", "input_query": "b", "outputs": ["c"], "tokens_to_generate": "9"}\n' > tg.jsonl
expect 2 "tg.jsonl:1: tokens_to_generate: expected an integer, got string" \
  run --model bad.gguf --attn dense --input tg.jsonl --output pred.jsonl
printf '{"input_context": "a", "input_query": "b", "outputs": [3]}\n' > outs.jsonl
expect 2 'outs.jsonl:1: "outputs" must be a string or a non-empty list of strings, got \[3\]' \
  run --model bad.gguf --attn dense --input outs.jsonl --output pred.jsonl
cmp -s pred.jsonl pred.before || { echo "FAIL: run changed the earlier records"; fails=$((fails + 1)); }
leftovers=$(find "$tmp" -name '*.tmp' | wc -l)
[ "$leftovers" -eq 0 ] || { echo "FAIL: $leftovers .tmp files left"; fails=$((fails + 1)); }
[ ! -e "$tmp/afile/out" ] || { echo "FAIL: output created under a file"; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all bad-input checks passed"
