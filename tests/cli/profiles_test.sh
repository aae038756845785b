#!/usr/bin/env bash
# Benchmark profiles from the command line (shared data: the reference's prompts file and subset,
# the bAbI test files, the llama3 tokenizer, the essays as books; no model):
#   - generate-babilong --profile reference writes data that names its profile, match mode and
#     budget, and profile.json with the prompts file's SHA-256 and the haystack; an override
#     (--set) is recorded in both; the default profile's lines carry no profile fields;
#   - generate-ruler --profile star-attention writes FWE's 120-token budget and its profile;
#   - bad input (a prompts file missing a task or a field, an unknown profile, a profile of the
#     other benchmark, a bad setting, the subset order without bAbI files), from generate-* and
#     from a sweep config: a one-line error naming it, exit code 2.
#   usage: profiles_test.sh STARATTN SOURCE_DIR
set -euo pipefail
bin="$1"; src="$2"
shared="${STARATTN_SHARED_DATA:-$src/../shared/data}"
[ -d "$shared/babilong-prompts" ] || { echo "FAIL: shared data missing: $shared"; exit 1; }
prompts="$shared/babilong-prompts/default_prompts.json"
tok="$shared/tokenizers/llama3/tokenizer.json"
books="$shared/haystack/paul_graham_essays"
babi="$shared/babi/en"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
common=(--tokenizer "$tok" --books "$books" --template base --samples 2)

# Reference profile, with one override.
"$bin" generate-babilong "${common[@]}" --profile reference --prompts "$prompts" --babi "$babi" \
    --tasks qa1 qa7 --lengths 1k --out "$tmp/ref" --set match=word > "$tmp/ref.log"
python3 - "$tmp/ref" "$prompts" <<'PY'
import hashlib, json, sys
out, prompts = sys.argv[1], sys.argv[2]
info = json.load(open(f"{out}/profile.json"))
sha = hashlib.sha256(open(prompts, "rb").read()).hexdigest()
assert info["profile"] == "reference", info
assert info["prompts"]["sha256"] == sha, info["prompts"]
assert info["overrides"] == {"match": "word"}, info["overrides"]
assert info["settings"]["sizing"] == "context" and info["settings"]["match"] == "word", info
assert info["haystack"].startswith("books ") and "paul_graham_essays" in info["haystack"], info
assert "test_100_idxs.json" in info["samples"], info["samples"]
subset = json.load(open(prompts.replace("default_prompts.json", "test_100_idxs.json")))
for task in ("qa1", "qa7"):
    lines = [json.loads(l) for l in open(f"{out}/{task}_1k.jsonl")]
    assert len(lines) == 2
    for i, r in enumerate(lines):
        assert r["profile"] == "reference" and r["profile_overrides"] == {"match": "word"}, r
        assert r["match"] == "word" and r["tokens_to_generate"] == 20, r
        assert r["prompts_sha256"] == sha and r["sized_context_tokens"] == 700, r
        assert r["input_context"].endswith("\n</context>\n\n"), r["input_context"][-40:]
        assert r["input_query"] == "Question: " + r["question"], r["input_query"]
        if task in subset:
            assert r["question_index"] == subset[task][i], (r["question_index"], subset[task][i])
        else:
            assert r["question_index"] == i, r["question_index"]
PY

# The default profile: lines without profile fields, the same with --profile project.
"$bin" generate-babilong "${common[@]}" --tasks qa1 --lengths 1k --out "$tmp/plain" > /dev/null
"$bin" generate-babilong "${common[@]}" --tasks qa1 --lengths 1k --out "$tmp/project" \
    --profile project > /dev/null
cmp "$tmp/plain/qa1_1k.jsonl" "$tmp/project/qa1_1k.jsonl" || { echo "FAIL: default differs"; exit 1; }
if grep -q '"profile"' "$tmp/plain/qa1_1k.jsonl"; then echo "FAIL: default lines name a profile"; exit 1; fi
python3 -c "import json,sys; i=json.load(open(sys.argv[1])); assert i['profile']=='project' and i['overrides']=={}, i" \
    "$tmp/plain/profile.json"

# RULER star-attention: FWE's budget and the profile in the data.
"$bin" generate-ruler --tokenizer "$tok" --template base --profile star-attention --tasks fwe \
    --lengths 2048 --samples 1 --out "$tmp/ruler" --threads 1 > /dev/null
python3 - "$tmp/ruler" <<'PY'
import json, sys
r = json.loads(open(f"{sys.argv[1]}/2048/fwe.jsonl").readline())
assert r["tokens_to_generate"] == 120 and r["profile"] == "star-attention", r
assert r["length"] + 120 <= 2048, r["length"]
assert r["input_context"].endswith("\n") and r["input_query"].startswith("Question: "), r
info = json.load(open(f"{sys.argv[1]}/profile.json"))
assert info["settings"]["cwe_freq_cw"] == 300 and info["settings"]["split"] == "context-line", info
PY

expect_error() {  # expect_error NEEDLE COMMAND ARGS...: exit 2 and one stderr line with NEEDLE
  local needle="$1"; shift
  set +e
  "$bin" "$@" > /dev/null 2> "$tmp/err.txt"; local rc=$?
  set -e
  [ "$rc" -eq 2 ] || { cat "$tmp/err.txt"; echo "FAIL: exit $rc for '$needle', want 2"; exit 1; }
  [ "$(wc -l < "$tmp/err.txt")" -eq 1 ] || { cat "$tmp/err.txt"; echo "FAIL: not one line"; exit 1; }
  grep -qF -- "$needle" "$tmp/err.txt" || { cat "$tmp/err.txt"; echo "FAIL: no '$needle'"; exit 1; }
}
python3 - "$prompts" "$tmp" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
no_task = json.loads(json.dumps(p)); del no_task["prompts"]["qa7"]
json.dump(no_task, open(sys.argv[2] + "/no_task.json", "w"))
no_field = json.loads(json.dumps(p)); del no_field["prompts"]["qa1"]["examples"]
json.dump(no_field, open(sys.argv[2] + "/no_field.json", "w"))
PY
gen=(generate-babilong "${common[@]}" --babi "$babi" --lengths 1k --out "$tmp/bad")
expect_error "prompts file $tmp/no_task.json: no prompts for task 'qa7'" \
    "${gen[@]}" --profile reference --prompts "$tmp/no_task.json" --tasks qa1 qa7
expect_error "prompts file $tmp/no_field.json: task 'qa1': no string field 'examples'" \
    "${gen[@]}" --profile reference --prompts "$tmp/no_field.json" --tasks qa1
expect_error "unknown BABILong profile 'paper' (BABILong profiles: project, reference)" \
    "${gen[@]}" --profile paper --tasks qa1
expect_error "profile 'star-attention' is a RULER profile, not a BABILong one" \
    "${gen[@]}" --profile star-attention --tasks qa1
expect_error "profile 'reference' is a BABILong profile, not a RULER one" \
    generate-ruler --tokenizer "$tok" --profile reference --tasks fwe --lengths 2048 --out "$tmp/bad"
expect_error "split: 'middle' is not a split" \
    generate-ruler --tokenizer "$tok" --profile star-attention --set split=middle --tasks fwe \
    --lengths 2048 --out "$tmp/bad"
expect_error "sizing: 'tokens' is not a sizing" "${gen[@]}" --set sizing=tokens --tasks qa1
expect_error "profile reference needs a prompts file" "${gen[@]}" --profile reference --tasks qa1
expect_error "sample_order subset orders the questions of the bAbI test files" \
    generate-babilong "${common[@]}" --profile reference --prompts "$prompts" --tasks qa1 \
    --lengths 1k --out "$tmp/bad"
[ ! -e "$tmp/bad" ] || { echo "FAIL: a rejected generation left $tmp/bad"; exit 1; }

# The same from sweep configs: refused before any work.
sweep_config() {  # sweep_config FILE BENCHMARK-JSON
  cat > "$1" <<EOF
{"name": "profiles", "models": [{"label": "m", "path": "$tok"}], "samples": 1,
 $2, "attention": [{"label": "dense", "mode": "dense"}]}
EOF
}
sweep_config "$tmp/s1.json" '"ruler": {"profile": "reference", "tasks": ["fwe"], "lengths": [2048]}'
expect_error "$tmp/s1.json: ruler: profile 'reference' is a BABILong profile" sweep "$tmp/s1.json" --out "$tmp/sweep"
sweep_config "$tmp/s2.json" '"babilong": {"profile": "reference", "prompts": "'"$tmp/no_task.json"'", "babi": "'"$babi"'", "tasks": ["qa7"], "lengths": ["1k"]}'
expect_error "no prompts for task 'qa7'" sweep "$tmp/s2.json" --out "$tmp/sweep"
sweep_config "$tmp/s3.json" '"babilong": {"profile": "nvidia", "tasks": ["qa1"], "lengths": ["1k"]}'
expect_error "$tmp/s3.json: babilong: unknown BABILong profile 'nvidia'" sweep "$tmp/s3.json" --out "$tmp/sweep"
sweep_config "$tmp/s4.json" '"ruler": {"profile": "star-attention", "cwe_freq_cw": 0, "tasks": ["cwe"], "lengths": [4096]}'
expect_error "$tmp/s4.json: ruler: cwe_freq_cw: expected a positive integer, got 0" sweep "$tmp/s4.json" --out "$tmp/sweep"
[ ! -e "$tmp/sweep" ] || { echo "FAIL: a rejected sweep left $tmp/sweep"; exit 1; }
echo "all profile checks passed"
