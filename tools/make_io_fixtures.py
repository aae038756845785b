#!/usr/bin/env python3
"""README: writes the fixtures of engine/io tests (GGUF, dequantization, safetensors) to
tests/fixtures/io/. Run from the repo root:  python3 tools/make_io_fixtures.py [--out DIR]
Needs the pip packages gguf, numpy, safetensors. Output is deterministic (fixed seed).

Layout (under --out, default tests/fixtures/io):
  dequant/<TYPE>.bin   raw GGML blocks of 1024 elements of TYPE (F32 F16 BF16 Q8_0 Q4_0 Q4_1
                       Q5_0 Q5_1 Q4_K Q5_K Q6_K)
  dequant/<TYPE>.f32   the reference fp32 values (little-endian), from gguf.quants.dequantize
  dequant.gguf         the same blocks as tensors named <TYPE>, shape [4, 256] (GGML dims
                       {256, 4}), general.alignment = 64, plus an unsupported "Q2_K" tensor
  meta.gguf            metadata of every GGUF value type (incl. arrays and a nested array) and
                       three small tensors; small enough to truncate at every length
  st/single/model.safetensors                   F32/F16/BF16/I32 tensors
  st/sharded/model.safetensors.index.json       the same tensors over two shards
  st/sharded/model-0000{1,2}-of-00002.safetensors
Safetensors values are (i - 5) * 0.25 for flat index i, exact in every float dtype.
"""

import argparse
import json
import os
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from safetensors import safe_open

SEED = 20240611
N = 1024  # elements per dequant fixture: 32 Q*_0/1 blocks, 4 K-quant super-blocks

# Byte offsets of the fp16 scale fields inside one block, per type.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.Q2_K: [80, 82],
}
QUANTIZABLE = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]  # gguf-py can quantize these
TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]

# F16 / BF16 / F32 bit patterns that exercise the conversions' edge cases.
F16_SPECIAL = [0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7E55, 0x0001, 0x8001, 0x03FF,
               0x0200, 0x0400, 0x7BFF, 0xFBFF, 0x3C00, 0x3555]
BF16_SPECIAL = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7FC1, 0x0001, 0x8001, 0x007F,
                0x0080, 0x7F7F, 0xFF7F, 0x3F80]


def random_blocks(rng, qtype, n_blocks):
    """Random block bytes with every fp16 scale set to a finite value; a few are 0/subnormal."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        h = (rng.uniform(0.001, 0.1, size=n_blocks) * rng.choice([-1, 1], size=n_blocks))
        h = h.astype(np.float16)
        h[0] = np.float16(0.0)
        if n_blocks > 1:
            h[1] = np.array([0x0123], dtype=np.uint16).view(np.float16)[0]  # subnormal
        raw[:, off:off + 2] = h.view(np.uint8).reshape(n_blocks, 2)
    return raw


def make_blocks(rng, qtype):
    """Returns (raw uint8 bytes of N elements, reference float32 values)."""
    x = rng.normal(0.0, 1.0, size=N).astype(np.float32)
    if qtype == T.F32:
        x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-42]  # 1e-42: fp32 subnormal
        raw = x.view(np.uint8)
    elif qtype == T.F16:
        bits = x.astype(np.float16).view(np.uint16).copy()
        bits[:len(F16_SPECIAL)] = F16_SPECIAL
        raw = bits.view(np.uint8)
    elif qtype == T.BF16:
        bits = gguf.quants.quantize(x, T.BF16).view(np.uint16).copy()
        bits[:len(BF16_SPECIAL)] = BF16_SPECIAL
        raw = bits.view(np.uint8)
    else:
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        n_blocks = N // block_size
        if qtype in QUANTIZABLE:
            # Half the blocks from the real quantizer, half random valid bytes.
            half = N // 2
            q = gguf.quants.quantize(x[:half].reshape(1, half), qtype).reshape(-1)
            r = random_blocks(rng, qtype, n_blocks // 2).reshape(-1)
            raw = np.concatenate([q, r])
        else:
            raw = random_blocks(rng, qtype, n_blocks).reshape(-1)
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    ref = gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False).reshape(-1)
    assert ref.size == N, (qtype, ref.size)
    return raw, ref


def write_dequant(out, rng):
    os.makedirs(os.path.join(out, "dequant"), exist_ok=True)
    w = gguf.GGUFWriter(os.path.join(out, "dequant.gguf"), "test")
    w.add_custom_alignment(64)
    for qtype in TYPES:
        raw, ref = make_blocks(rng, qtype)
        with open(os.path.join(out, "dequant", qtype.name + ".bin"), "wb") as f:
            f.write(raw.tobytes())
        with open(os.path.join(out, "dequant", qtype.name + ".f32"), "wb") as f:
            f.write(ref.astype("<f4").tobytes())
        w.add_tensor(qtype.name, raw.reshape(4, -1), raw_dtype=qtype)
    q2k = random_blocks(rng, T.Q2_K, 4).reshape(4, -1)  # a known type we cannot dequantize
    w.add_tensor("Q2_K", q2k, raw_dtype=T.Q2_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_meta(out):
    V = gguf.GGUFValueType
    w = gguf.GGUFWriter(os.path.join(out, "meta.gguf"), "test")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "hello, gguf \u2713")
    w.add_uint64("test.u64_big", 2**63 + 5)  # does not fit int64
    w.add_int64("test.i64", -(2**40))
    w.add_float64("test.f64", 0.1)
    w.add_key_value("test.arr.u8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_array("test.arr.i32", [1, -2, 3])
    w.add_key_value("test.arr.i64", [-(2**40), 7], V.ARRAY, sub_type=V.INT64)
    w.add_key_value("test.arr.u64_big", [1, 2**64 - 1], V.ARRAY, sub_type=V.UINT64)
    w.add_array("test.arr.f32", [0.25, -1.5])
    w.add_key_value("test.arr.f64", [0.1, 2.0], V.ARRAY, sub_type=V.FLOAT64)
    w.add_array("test.arr.bool", [True, False, True])
    w.add_array("test.arr.str", ["a", "", "ccc"])
    w.add_array("test.arr.nested", [[1, 2], [3]])
    w.add_tensor("t.f32", (np.arange(12, dtype=np.float32) * 0.5 - 1.0).reshape(3, 4))
    w.add_tensor("t.f16", (np.arange(8, dtype=np.float32) * 0.25).astype(np.float16))
    q8 = gguf.quants.quantize(np.arange(32, dtype=np.float32).reshape(1, 32), T.Q8_0)
    w.add_tensor("t.q8_0", q8, raw_dtype=T.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def st_values(n, np_dtype):
    return ((np.arange(n, dtype=np.float32) - 5) * 0.25).astype(np_dtype)


# name -> (dtype, shape, little-endian bytes)
def st_tensors():
    bf16 = (st_values(5, np.float32).view(np.uint32) >> 16).astype("<u2")  # exact truncation
    return {
        "a.f32": ("F32", [3, 4], st_values(12, "<f4").tobytes()),
        "b.f16": ("F16", [2, 3, 4], st_values(24, "<f2").tobytes()),
        "c.bf16": ("BF16", [5], bf16.tobytes()),
        "d.i32": ("I32", [4], np.arange(4, dtype="<i4").tobytes()),
    }


def save_st(path, tensors):
    """Writes a safetensors file as the reference library lays it out (safetensors.numpy cannot
    write BF16): u64 header length, JSON header padded with spaces to 8 bytes, data."""
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data)
    with safe_open(path, framework="numpy") as f:  # the reference parser accepts it
        assert sorted(f.keys()) == sorted(tensors), path


def write_safetensors(out):
    t = st_tensors()
    single = os.path.join(out, "st", "single")
    sharded = os.path.join(out, "st", "sharded")
    os.makedirs(single, exist_ok=True)
    os.makedirs(sharded, exist_ok=True)
    save_st(os.path.join(single, "model.safetensors"), t)
    shards = {
        "model-00001-of-00002.safetensors": ["a.f32", "b.f16"],
        "model-00002-of-00002.safetensors": ["c.bf16", "d.i32"],
    }
    weight_map = {}
    for fname, names in shards.items():
        save_st(os.path.join(sharded, fname), {k: t[k] for k in names})
        weight_map.update({k: fname for k in names})
    index = {"metadata": {"total_size": sum(len(v[2]) for v in t.values())},
             "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(sharded, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "io"))
    args = ap.parse_args()
    print(f"make_io_fixtures: seed {SEED}, writing {args.out}", file=sys.stderr)
    rng = np.random.default_rng(SEED)
    os.makedirs(args.out, exist_ok=True)
    write_dequant(args.out, rng)
    write_meta(args.out)
    write_safetensors(args.out)


if __name__ == "__main__":
    main()
