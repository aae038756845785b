#!/usr/bin/env python3
"""Dense prefill and decode throughput of starattn vs llama.cpp, side by side, in one run.

Both run the same GGUF with the same thread count on synthetic prompts of the same lengths:
  * starattn: `build/starattn bench --attn dense --lengths ... --threads T --json ...`
    (prefill tokens/s = context tokens / phase-1 seconds; decode tokens/s at that context).
  * llama.cpp through llama-cpp-python (which builds llama.cpp from source): prefill tokens/s =
    prompt tokens / wall time of `llm.eval(prompt_ids)` (batches of --n-batch, as our ubatch);
    decode tokens/s = (N - 1) single-token `llm.eval` calls after that prompt, as ours.
The prompt lengths llama.cpp gets are the context lengths starattn reports (starattn trims a
length so that context + query + decode fits the model's positions).

Setup (once):
    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install llama-cpp-python      # compiles llama.cpp (a few minutes)
    # for the host's instruction set: CMAKE_ARGS="-DGGML_NATIVE=ON" pip install ... (default)

Run:
    /tmp/refvenv/bin/python tools/llamacpp_side_by_side.py \
        --model models/SmolLM2-135M-Instruct.Q4_1.gguf --threads 2 --lengths 1024 4096 \
        --decode-tokens 32 --json results/perf/side_by_side.json
The two engines run one after the other, never at the same time.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_starattn(args):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [args.starattn, "bench", "--model", args.model, "--attn", "dense",
               "--threads", str(args.threads), "--decode-tokens", str(args.decode_tokens),
               "--repeats", str(args.repeats), "--ubatch", str(args.n_batch),
               "--warmup", "1", "--json", out, "--lengths"] + [str(n) for n in args.lengths]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        with open(out) as f:
            return json.load(f)


def run_llamacpp(args, context_lengths):
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama

    n_ctx = max(context_lengths) + args.decode_tokens + 64
    llm = Llama(model_path=args.model, n_ctx=n_ctx, n_threads=args.threads,
                n_threads_batch=args.threads, n_batch=args.n_batch, n_ubatch=args.n_batch,
                flash_attn=args.flash_attn, logits_all=False, verbose=False)
    vocab = llm.n_vocab()
    rng = np.random.default_rng(args.seed)
    results = []
    # Warm-up (page in the weights, build the compute graphs).
    llm.reset()
    llm.eval([int(t) for t in rng.integers(300, vocab, 64)])
    for L in context_lengths:
        prefill, decode = [], []
        for _ in range(args.repeats):
            ids = [int(t) for t in rng.integers(300, vocab, L)]
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(ids)
            prefill.append(L / (time.perf_counter() - t0))
            steps = args.decode_tokens - 1
            if steps > 0:
                toks = [int(t) for t in rng.integers(300, vocab, steps)]
                t0 = time.perf_counter()
                for t in toks:
                    llm.eval([t])
                decode.append(steps / (time.perf_counter() - t0))
        results.append({"context_tokens": L,
                        "prefill_tokens_per_second": statistics.median(prefill),
                        "decode_tokens_per_second": statistics.median(decode) if decode else 0.0,
                        "prefill_runs": prefill, "decode_runs": decode})
        print(f"llama.cpp: {L:6d} tokens: prefill {results[-1]['prefill_tokens_per_second']:.1f}"
              f" tok/s, decode {results[-1]['decode_tokens_per_second']:.2f} tok/s", flush=True)
    info = {"llama_cpp_python": llama_cpp.__version__, "n_ctx": n_ctx, "n_batch": args.n_batch,
            "flash_attn": args.flash_attn,
            "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}
    del llm
    return results, info


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.path.join(ROOT, "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--starattn", default=os.path.join(ROOT, "build/starattn"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096])
    p.add_argument("--decode-tokens", type=int, default=32)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--n-batch", type=int, default=512, help="llama.cpp n_batch = our --ubatch")
    p.add_argument("--flash-attn", action="store_true", help="llama.cpp flash attention")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="write both results and the ratios here")
    args = p.parse_args()

    ours = run_starattn(args)
    context_lengths = [s["context_tokens"] for s in ours["summary"]]
    theirs, info = run_llamacpp(args, context_lengths)

    rows = []
    print()
    print(f"threads {args.threads}, decode tokens {args.decode_tokens}, repeats {args.repeats}"
          f" (medians), model {os.path.basename(args.model)}")
    print(f"{'context':>8} | {'prefill tok/s':>28} | {'decode tok/s':>28}")
    print(f"{'':>8} | {'starattn':>9} {'llama.cpp':>9} {'ratio':>7} | "
          f"{'starattn':>9} {'llama.cpp':>9} {'ratio':>7}")
    for s, t in zip(ours["summary"], theirs):
        r = {"context_tokens": s["context_tokens"],
             "starattn_prefill_tokens_per_second": s["prefill_tokens_per_second"],
             "llamacpp_prefill_tokens_per_second": t["prefill_tokens_per_second"],
             "prefill_ratio": s["prefill_tokens_per_second"] / t["prefill_tokens_per_second"],
             "starattn_decode_tokens_per_second": s["decode_tokens_per_second"],
             "llamacpp_decode_tokens_per_second": t["decode_tokens_per_second"],
             "decode_ratio": (s["decode_tokens_per_second"] / t["decode_tokens_per_second"]
                              if t["decode_tokens_per_second"] else None),
             "starattn_ttft_seconds": s["ttft_seconds"],
             "starattn_peak_rss_bytes": s["peak_rss_bytes"]}
        rows.append(r)
        dr = r["decode_ratio"] or 0.0
        print(f"{r['context_tokens']:>8} | {r['starattn_prefill_tokens_per_second']:9.1f} "
              f"{r['llamacpp_prefill_tokens_per_second']:9.1f} {r['prefill_ratio']:7.3f} | "
              f"{r['starattn_decode_tokens_per_second']:9.2f} "
              f"{r['llamacpp_decode_tokens_per_second']:9.2f} {dr:7.3f}")
    if args.json:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "cpu": cpu_model(), "nproc": os.cpu_count(), "threads": args.threads,
               "model": args.model, "decode_tokens": args.decode_tokens,
               "repeats": args.repeats, "rows": rows, "llamacpp": {"info": info, "runs": theirs},
               "starattn": ours}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    sys.exit(main())
