#!/usr/bin/env python3
"""Star attention's phase-1 critical path against the cost model of star-attention.md.

Runs `starattn bench --isolated-hosts` (each host's phase 1 alone on all threads, so the result
is the critical path of H machines like this one) for every (H hosts, block = L/K) pair with
K >= H, calibrates the cost model on dense prefills of several lengths, and writes a JSON file,
a Markdown table and a gnuplot plot (PNG + SVG) of measured vs modelled critical paths.

Cost model (per host, summed over its blocks): every block is a causal prefill of n = a + len
tokens (a = anchor, 0 for the first block), costing
    alpha * n            (the linear layers: projections, MLP, LM-head-free)
  + beta  * n (n + 1) / 2 (attention score pairs)
alpha and beta are fitted by least squares on dense prefills (a = 0, n = L). star-attention.md
writes the attention term of a non-first block as a*b + b^2/2; the anchor's own causal pairs
(a^2/2) are added here because phase 1 recomputes the anchor with every block.

    python3 tools/star_phase1_curve.py --starattn build/starattn \
        --model models/SmolLM2-135M-Instruct.Q4_1.gguf --length 8192 --threads 2 \
        --out results/perf/star_phase1_8k
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def bench(args, extra, tmp):
    path = os.path.join(tmp, "bench.json")
    cmd = [args.starattn, "bench", "--model", args.model, "--isolated-hosts",
           "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--query-tokens", "1", "--decode-tokens", "1", "--json", path] + extra
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(path) as f:
        return json.load(f)


def block_inputs(L, b, a, first, last):
    """Token counts n = anchor + block of blocks [first, last)."""
    out = []
    for blk in range(first, last):
        length = min(b, L - blk * b)
        out.append((0 if blk == 0 else a) + length)
    return out


def groups(n_blocks, hosts):
    """numpy.array_split bounds, as BlockGroups in engine/model/distributed.cc."""
    q, r = divmod(n_blocks, hosts)
    bounds = [0]
    for h in range(hosts):
        bounds.append(bounds[-1] + q + (1 if h < r else 0))
    return bounds


def cost(ns, alpha, beta):
    return sum(alpha * n + beta * n * (n + 1) / 2 for n in ns)


def fit(points):
    """Least squares t = alpha * n + beta * n(n+1)/2 over (n, t) points."""
    s11 = s12 = s22 = y1 = y2 = 0.0
    for n, t in points:
        x1, x2 = float(n), n * (n + 1) / 2.0
        s11 += x1 * x1
        s12 += x1 * x2
        s22 += x2 * x2
        y1 += x1 * t
        y2 += x2 * t
    det = s11 * s22 - s12 * s12
    return (y1 * s22 - y2 * s12) / det, (s11 * y2 - s12 * y1) / det


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--starattn", default="build/starattn")
    p.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    p.add_argument("--length", type=int, default=8192)
    p.add_argument("--hosts", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--block-divs", type=int, nargs="+", default=[2, 4, 8, 16])
    p.add_argument("--calibration", type=int, nargs="+", default=[1024, 2048, 4096, 8192])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", required=True, help="output prefix (.json, .md, .png, .svg)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        dense = bench(args, ["--attn", "dense", "--lengths"] + [str(x) for x in args.calibration],
                      tmp)
        points = [(s["context_tokens"], s["phase1_critical_seconds"]) for s in dense["summary"]]
        alpha, beta = fit(points)
        dense_at = {s["length"]: s for s in dense["summary"]}
        rows = []
        for h in args.hosts:
            for k in args.block_divs:
                if k < h:
                    continue  # fewer blocks than hosts
                run = bench(args, ["--attn", "star", "--hosts", str(h), "--block-div", str(k),
                                   "--lengths", str(args.length)], tmp)
                s = run["summary"][0]
                L, b = s["context_tokens"], s["block_size"]
                bounds = groups((L + b - 1) // b, h)
                model_hosts = [cost(block_inputs(L, b, b, bounds[i], bounds[i + 1]), alpha, beta)
                               for i in range(h)]
                measured = s["phase1_critical_seconds"]
                modelled = max(model_hosts)
                rows.append({"hosts": h, "block_div": k, "context_tokens": L, "block_size": b,
                             "measured_seconds": measured,
                             "per_host_measured_seconds": s["per_host_phase1_seconds"],
                             "model_seconds": modelled, "per_host_model_seconds": model_hosts,
                             "measured_over_model": measured / modelled,
                             "kv_bytes_per_host": s["max_kv_bytes_per_host"]})
    dense_L = dense_at.get(args.length)
    result = {"length": args.length, "threads": args.threads, "repeats": args.repeats,
              "alpha_seconds_per_token": alpha, "beta_seconds_per_pair": beta,
              "calibration": [{"context_tokens": n, "seconds": t,
                               "model_seconds": cost([n], alpha, beta)} for n, t in points],
              "dense_seconds": dense_L["phase1_critical_seconds"] if dense_L else None,
              "dense_kv_bytes": dense_L["max_kv_bytes_per_host"] if dense_L else None,
              "star": rows}
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)

    lines = [f"# Star phase-1 critical path at L = {args.length}, {args.threads} threads per host",
             "",
             f"Cost model fitted on dense prefills: alpha = {alpha * 1e3:.4f} ms/token, "
             f"beta = {beta * 1e9:.4f} ns/score pair.",
             "",
             "| L (dense) | measured s | model s | ratio |", "|---|---|---|---|"]
    for c in result["calibration"]:
        lines.append(f"| {c['context_tokens']} | {c['seconds']:.3f} | {c['model_seconds']:.3f} | "
                     f"{c['seconds'] / c['model_seconds']:.2f} |")
    dense_s = result["dense_seconds"]
    lines += ["", "| hosts | block | measured s | model s | measured/model | speedup vs dense | "
              "KV/host vs dense |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        speedup = f"{dense_s / r['measured_seconds']:.2f}x" if dense_s else "-"
        kv = (f"{r['kv_bytes_per_host'] / result['dense_kv_bytes']:.3f}"
              if result["dense_kv_bytes"] else "-")
        flag = " **>1.3x**" if max(r["measured_over_model"], 1 / r["measured_over_model"]) > 1.3 \
            else ""
        lines.append(f"| {r['hosts']} | L/{r['block_div']} ({r['block_size']}) | "
                     f"{r['measured_seconds']:.3f} | {r['model_seconds']:.3f} | "
                     f"{r['measured_over_model']:.2f}{flag} | {speedup} | {kv} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    if shutil.which("gnuplot") is None:
        print("gnuplot not found: no plot", file=sys.stderr)
        return
    dat = args.out + ".dat"
    with open(dat, "w") as f:
        for h in args.hosts:
            f.write(f"# hosts {h}\n")
            for r in rows:
                if r["hosts"] == h:
                    f.write(f"{r['block_div']} {r['measured_seconds']} {r['model_seconds']}\n")
            f.write("\n\n")
    plot_lines = []
    for i, h in enumerate(args.hosts):
        plot_lines.append(f"'{dat}' index {i} using 1:2 with linespoints lc {i + 1} pt 7 "
                          f"title 'H={h} measured'")
        plot_lines.append(f"'{dat}' index {i} using 1:3 with lines lc {i + 1} dt 2 "
                          f"title 'H={h} model'")
    if dense_s:
        plot_lines.append(f"{dense_s} with lines lc rgb 'black' dt 3 title 'dense'")
    for term, ext in (("pngcairo size 900,600", "png"), ("svg size 900,600", "svg")):
        script = (f"set terminal {term}\nset output '{args.out}.{ext}'\n"
                  f"set title 'Star phase 1 at L = {args.length}: critical path ({args.threads} "
                  "threads per host)'\n"
                  "set xlabel 'blocks K (block = L/K)'\nset ylabel 'seconds'\n"
                  "set logscale x 2\nset key outside right\nset grid\n"
                  "plot " + ", ".join(plot_lines) + "\n")
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    os.remove(dat)
    print(f"wrote {args.out}.json .md .png .svg")


if __name__ == "__main__":
    main()
