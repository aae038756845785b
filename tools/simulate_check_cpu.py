#!/usr/bin/env python3
"""Checks `starattn simulate` against the measured star phase-1 curve of this machine.

Reads results/perf/star_phase1_8k.json (bench --isolated-hosts at commit ac6d953: every star
host's phase 1 timed alone on both cores, so the maximum is the critical path of H such
machines), runs `starattn simulate` with tasks/hardware/zen4-2core-ac6d953.json for every
(hosts, block) point and for the dense calibration prefills, and writes the comparison as
Markdown and JSON. The hardware file's efficiencies come from the DENSE runs only; the star
points are predictions. Exit status 1 when a star point is off by more than --tolerance.

    python3 tools/simulate_check_cpu.py --starattn build/starattn \
        --out results/simulate/cpu_star_phase1
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def simulate(starattn, hardware, model, context, hosts, block, tmp):
    out = os.path.join(tmp, "sim.json")
    cmd = [starattn, "simulate", "--hardware", os.path.relpath(hardware, ROOT), "--model", model,
           "--lengths", str(context), "--hosts", str(hosts), "--devices-per-host", "1",
           "--dense-devices", "1", "--block", str(block), "--anchor", "block",
           "--query-tokens", "1", "--decode-tokens", "1", "--json", out]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    shown = [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in cmd[1:-2]]
    with open(out) as f:
        return json.load(f)["rows"][0], " ".join(shown)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--starattn", default=os.path.join(ROOT, "build", "starattn"))
    ap.add_argument("--curve", default=os.path.join(ROOT, "results", "perf", "star_phase1_8k.json"))
    ap.add_argument("--hardware",
                    default=os.path.join(ROOT, "tasks", "hardware", "zen4-2core-ac6d953.json"))
    ap.add_argument("--model", default="smollm2-135m",
                    help="built-in shape or the GGUF the curve was measured with")
    ap.add_argument("--tolerance", type=float, default=0.20)
    ap.add_argument("--out", default=os.path.join(ROOT, "results", "simulate", "cpu_star_phase1"))
    args = ap.parse_args()
    args.starattn = os.path.abspath(args.starattn)
    with open(args.curve) as f:
        curve = json.load(f)
    rel = lambda p: os.path.relpath(p, ROOT)
    rows, dense_rows, worst = [], [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        example = None
        for cal in curve["calibration"]:
            r, _ = simulate(args.starattn, args.hardware, args.model, cal["context_tokens"], 1,
                            cal["context_tokens"], tmp)
            # Dense's phase 1 holds context + the 1 query token; the calibration timed the context.
            dense_rows.append({"context_tokens": cal["context_tokens"],
                               "measured_s": cal["seconds"],
                               "predicted_s": r["dense"]["phase1_s"]})
        for p in curve["star"]:
            r, cmd = simulate(args.starattn, args.hardware, args.model, p["context_tokens"],
                              p["hosts"], p["block_size"], tmp)
            example = example or cmd
            pred = r["star"]["phase1_s"]
            ratio = p["measured_seconds"] / pred
            worst = max(worst, abs(ratio - 1))
            host_ratios = [m / s for m, s in zip(p["per_host_measured_seconds"],
                                                 r["star"]["host_phase1_s"])]
            rows.append({"hosts": p["hosts"], "block_div": p["block_div"],
                         "block": p["block_size"], "context_tokens": p["context_tokens"],
                         "measured_s": p["measured_seconds"], "predicted_s": pred,
                         "measured_over_predicted": ratio,
                         "per_host_measured_s": p["per_host_measured_seconds"],
                         "per_host_predicted_s": r["star"]["host_phase1_s"],
                         "per_host_ratio_range": [min(host_ratios), max(host_ratios)]})
    ok = worst <= args.tolerance
    md = ["# Star phase 1 on this machine: `starattn simulate` vs the measured curve", "",
          f"Measured: `{rel(args.curve)}` (commit ac6d953, bench --isolated-hosts, 2 threads per "
          "host). Predicted: `starattn simulate` with "
          f"`{rel(args.hardware)}` (efficiencies from the dense prefills only), model "
          f"`{args.model}`. Regenerate: `python3 tools/simulate_check_cpu.py`.", "",
          f"Example command: `starattn {example}`", "",
          "## Dense prefills (the calibration the hardware file's efficiencies come from)", "",
          "| context | measured s | predicted s | measured/predicted |", "|---:|---:|---:|---:|"]
    for d in dense_rows:
        md.append(f"| {d['context_tokens']} | {d['measured_s']:.3f} | {d['predicted_s']:.3f} | "
                  f"{d['measured_s'] / d['predicted_s']:.3f} |")
    md += ["", "## Star phase 1 critical path (predicted, not fitted)", "",
           "| hosts | block | measured s | predicted s | measured/predicted | per-host ratio range |",
           "|---:|---|---:|---:|---:|---|"]
    for r in rows:
        lo, hi = r["per_host_ratio_range"]
        md.append(f"| {r['hosts']} | L/{r['block_div']} ({r['block']}) | {r['measured_s']:.3f} | "
                  f"{r['predicted_s']:.3f} | {r['measured_over_predicted']:.3f} | "
                  f"{lo:.3f} .. {hi:.3f} |")
    md += ["", f"Largest deviation of the critical path: {100 * worst:.1f}% "
           f"(tolerance {100 * args.tolerance:.0f}%): {'within' if ok else 'OUTSIDE'} the tolerance "
           f"at every H.", ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md))
    with open(args.out + ".json", "w") as f:
        json.dump({"curve": rel(args.curve), "hardware": rel(args.hardware), "model": args.model,
                   "tolerance": args.tolerance, "largest_deviation": worst, "within": ok,
                   "dense": dense_rows, "star": rows}, f, indent=2)
        f.write("\n")
    print("\n".join(md))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
