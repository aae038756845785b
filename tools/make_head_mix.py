#!/usr/bin/env python3
"""Writes a per-head mask file (engine/model/sparse_spec.h format) that mixes dense and streaming
heads as DuoAttention does: a fraction of each layer's query heads dense (type 0), the rest
streaming (type -1) with the given sink and local window. Which heads are dense alternates by
layer so that every head index is dense in some layers and the total is as close to the fraction
as the head count allows.

  usage: make_head_mix.py --layers 30 --heads 9 --dense 0.5 --sink 64 --local 256 OUT.json
"""
import argparse
import json


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True, help="query heads per layer")
    p.add_argument("--dense", type=float, default=0.5, help="fraction of dense heads, [0, 1]")
    p.add_argument("--sink", type=int, default=64, help="streaming heads: sink tokens")
    p.add_argument("--local", type=int, default=256, help="streaming heads: local window tokens")
    p.add_argument("--block", type=int, default=128, help="block size of the mask file")
    p.add_argument("out")
    a = p.parse_args()
    if a.layers < 1 or a.heads < 1:
        p.error("--layers and --heads must be positive")
    if not 0 <= a.dense <= 1:
        p.error("--dense must be in [0, 1]")
    total = a.layers * a.heads
    want = round(a.dense * total)
    rows, placed = [], 0
    for layer in range(a.layers):
        # Dense heads of this layer: what keeps the running total on target, spread over the
        # head indices by a rotating offset.
        n = round(want * (layer + 1) / a.layers) - placed
        placed += n
        dense = {(layer + 2 * i) % a.heads for i in range(n)}
        k = 0
        while len(dense) < n:  # an even head count: the stride-2 walk revisits heads
            dense.add((layer + 2 * n + k) % a.heads)
            k += 1
        rows.append([0 if h in dense else -1 for h in range(a.heads)])
    spec = {
        "block_size": a.block,
        "head_mask_type": rows,
        "streaming": {"sink": a.sink, "local": a.local, "unit": "tokens"},
        "description": f"{placed} of {total} heads dense, the rest streaming {a.sink} + {a.local} "
                       f"tokens (tools/make_head_mix.py --layers {a.layers} --heads {a.heads} "
                       f"--dense {a.dense} --sink {a.sink} --local {a.local})",
    }
    with open(a.out, "w") as f:
        f.write("{\n")
        f.write(f'  "description": {json.dumps(spec["description"])},\n')
        f.write(f'  "block_size": {a.block},\n')
        f.write(f'  "streaming": {json.dumps(spec["streaming"])},\n')
        f.write('  "head_mask_type": [\n')
        f.write(",\n".join("    " + json.dumps(r) for r in rows))
        f.write("\n  ]\n}\n")


if __name__ == "__main__":
    main()
