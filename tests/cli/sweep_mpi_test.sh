#!/usr/bin/env bash
# `sweep` under `mpirun -np 2` gives the predictions of the in-process sweep (dense on rank 0
# alone, star on both ranks); killing rank 0 mid-sweep (SIGKILL) and rerunning loses and
# duplicates no record; a configuration whose hosts fit neither 1 nor the world size is refused.
#   usage: sweep_mpi_test.sh STARATTN SOURCE_DIR
set -euo pipefail
bin="$1"; src="$2"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
cat > "$tmp/tiny.json" <<JSON
{
  "name": "tiny",
  "models": [{"label": "smollm2", "path": "$src/models/SmolLM2-135M-Instruct.Q4_1.gguf"}],
  "template": "chat", "samples": 2, "seed": 5, "tokens_to_generate": 8,
  "ruler": {"tasks": ["niah_single_1"], "lengths": [512],
            "wordlists": "$src/../shared/data/wordlists"},
  "babilong": {"tasks": ["qa1"], "lengths": ["512"], "books": "$src/data/books"},
  "attention": [{"label": "dense", "mode": "dense"},
                {"label": "star-h2", "mode": "star", "hosts": 2, "block": 64}]
}
JSON
sweep_mpi() { mpirun --oversubscribe -np 2 "$bin" sweep "$tmp/tiny.json" -t 1 "$@"; }
"$bin" sweep "$tmp/tiny.json" -t 1 --out "$tmp/inproc" 2> "$tmp/log.inproc"
sweep_mpi --out "$tmp/mpi" 2> "$tmp/log.mpi"

# Predictions per (attention, sample): every record once, equal in both runs.
check() {  # check EXPECTED ACTUAL
  python3 - "$1" "$2" <<'PY'
import json, os, sys
want_dir, got_dir = sys.argv[1], sys.argv[2]
for attn, comm in (("dense", "in-process"), ("star-h2", "mpi")):
    def preds(d):
        lines = open(os.path.join(d, "smollm2", attn, "512", "pred.jsonl")).read().splitlines()
        recs = [json.loads(l) for l in lines]
        keys = [r["sample_key"] for r in recs]
        assert len(keys) == len(set(keys)), (d, attn, "duplicate records", keys)
        return {r["sample_key"]: r["pred"] for r in recs}, recs
    want, _ = preds(want_dir)
    got, recs = preds(got_dir)
    assert sorted(want) == ["niah_single_1/0", "niah_single_1/1", "qa1/0", "qa1/1"], want
    assert got == want, (attn, want, got)
    if "mpi" in got_dir:
        assert all(r["attn"]["communicator"] == comm for r in recs), (attn, recs[0]["attn"])
    assert os.path.exists(os.path.join(got_dir, "smollm2", attn, "512", "summary.json"))
print("ok:", got_dir, "matches", want_dir)
PY
}
check "$tmp/inproc" "$tmp/mpi"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["mpi_ranks"] == 2, m' \
  "$tmp/mpi/manifest.json"

# Kill rank 0 once the star unit (both ranks) has written a record, then rerun.
sweep_mpi --out "$tmp/killed" 2> "$tmp/log.killed" &
launcher=$!
star="$tmp/killed/smollm2/star-h2/512/pred.jsonl"
for _ in $(seq 1 600); do
  [ -s "$star" ] && break
  kill -0 "$launcher" 2> /dev/null || break
  sleep 0.5
done
[ -s "$star" ] || { cat "$tmp/log.killed"; echo "FAIL: no star record before the sweep ended"; exit 1; }
rank0=""  # the process of this sweep (its --out in the command line) that is MPI rank 0
for dir in /proc/[0-9]*; do
  tr '\0' ' ' < "$dir/cmdline" 2> /dev/null | grep -qF -- "--out $tmp/killed" || continue
  tr '\0' '\n' < "$dir/environ" 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=0' || continue
  rank0=${dir#/proc/}
done
[ -n "$rank0" ] || { echo "FAIL: rank 0 of the sweep not found"; exit 1; }
kill -KILL "$rank0"
if wait "$launcher"; then echo "FAIL: the killed sweep exited 0"; exit 1; fi
n_before=$(wc -l < "$star")
[ "$n_before" -lt 4 ] || { echo "FAIL: the sweep finished before the kill ($n_before records)"; exit 1; }
echo "killed rank 0 with $n_before star record(s) written"
# What a kill inside a write leaves: a torn last line.
printf '{"sample_key":"qa1/1","pred":"tor' >> "$star"
sweep_mpi --out "$tmp/killed" 2> "$tmp/log.resumed"
check "$tmp/mpi" "$tmp/killed"

# Hosts that fit neither 1 nor the world size: one error line naming the configuration.
sed 's/"hosts": 2/"hosts": 4/' "$tmp/tiny.json" > "$tmp/h4.json"
if mpirun --oversubscribe -np 2 "$bin" sweep "$tmp/h4.json" --out "$tmp/h4" 2> "$tmp/err"; then
  echo "FAIL: hosts 4 under 2 processes accepted"; exit 1
fi
grep -q "attention 'star-h2': 4 hosts cannot run under mpirun -np 2" "$tmp/err" ||
  { cat "$tmp/err"; echo "FAIL: wrong error"; exit 1; }
[ ! -e "$tmp/h4/data" ] || { echo "FAIL: work started before the configuration was refused"; exit 1; }
echo "all sweep MPI checks passed"
