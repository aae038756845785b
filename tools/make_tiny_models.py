#!/usr/bin/env python3
"""README: writes tiny random-weight models of each supported architecture, in GGUF form (as
llama.cpp's convert_hf_to_gguf.py lays them out) and Hugging Face form (config.json +
model.safetensors), plus reference logits for a fixed token sequence. Run from the repo root:
    python3 tools/make_tiny_models.py --out tests/fixtures/tiny
    python3 tools/make_tiny_models.py --llama31-8b-shape models/llama31-8b-shape-2l
(the second: Llama-3.1-8B's shapes with 2 random layers, BF16 safetensors, ~2.8 GiB, for the GPU
backend at scale: `starattn logits --model models/llama31-8b-shape-2l --ids ... --device cuda`).
Needs the pip packages gguf, numpy, safetensors; `--check-transformers` additionally runs the
HF checkpoints through transformers (torch + transformers, not needed to generate).
Output is deterministic (fixed seeds, printed).

Per variant, under --out/<variant>/:
  model.gguf          GGUF v3, every tensor F32, no tokenizer metadata
  hf/config.json      Hugging Face config
  hf/model.safetensors  F32 tensors (identical values to the GGUF ones, q/k un-permuted)
  reference.json      {"tokens": [...], "logits_shape": [T, vocab], ...}
  logits.f32          reference logits, row-major [T, vocab], little-endian fp32, from a float64
                      numpy forward pass of the HF checkpoint (verified to agree with a separate
                      ggml-convention forward pass of the GGUF file to 1e-6)
Checked once with --check-transformers (torch 2.15, transformers 5.23): transformers' fp32 logits
match logits.f32 within 3.1e-6 for all three variants (llama3 scaling honoured).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

import gguf
from safetensors.numpy import save_file

COMMON = dict(hidden=64, ffn=128, n_head=4, n_kv_head=2, head_dim=16, n_layer=2, vocab=256)
VARIANTS = {
    "llama-tied": dict(arch="llama", seed=101, tied=True, bias=False, rope_theta=10000.0,
                       eps=1e-5, ctx=128, rope_scaling=None),
    "llama3-scaled": dict(arch="llama", seed=102, tied=False, bias=False, rope_theta=10000.0,
                          eps=1e-5, ctx=512,
                          rope_scaling={"factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0,
                                        "original_max_position_embeddings": 64,
                                        "rope_type": "llama3"}),
    "qwen2": dict(arch="qwen2", seed=103, tied=True, bias=True, rope_theta=1000000.0,
                  eps=1e-6, ctx=128, rope_scaling=None),
}
# Token ids fed to the reference forward pass (covers 0, vocab-1 and repeats).
TOKENS = [1, 17, 200, 3, 99, 255, 42, 7, 128, 64, 5, 250, 17, 0, 31, 200]


# ---- Weights (HF names and [out, in] layout) ---------------------------------------------------

def make_weights(v, rng):
    c = COMMON
    H, F, hd = c["hidden"], c["ffn"], c["head_dim"]
    q_dim, kv_dim = c["n_head"] * hd, c["n_kv_head"] * hd

    def w(*shape, std=0.1):
        return rng.normal(0.0, std, size=shape).astype(np.float32)

    def norm():
        return (1.0 + rng.normal(0.0, 0.1, size=H)).astype(np.float32)

    t = {"model.embed_tokens.weight": w(c["vocab"], H, std=0.2)}
    for i in range(c["n_layer"]):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm()
        t[p + "self_attn.q_proj.weight"] = w(q_dim, H)
        t[p + "self_attn.k_proj.weight"] = w(kv_dim, H)
        t[p + "self_attn.v_proj.weight"] = w(kv_dim, H)
        if v["bias"]:
            t[p + "self_attn.q_proj.bias"] = w(q_dim, std=0.2)
            t[p + "self_attn.k_proj.bias"] = w(kv_dim, std=0.2)
            t[p + "self_attn.v_proj.bias"] = w(kv_dim, std=0.2)
        t[p + "self_attn.o_proj.weight"] = w(H, q_dim)
        t[p + "post_attention_layernorm.weight"] = norm()
        t[p + "mlp.gate_proj.weight"] = w(F, H)
        t[p + "mlp.up_proj.weight"] = w(F, H)
        t[p + "mlp.down_proj.weight"] = w(H, F)
    t["model.norm.weight"] = norm()
    if not v["tied"]:
        t["lm_head.weight"] = w(c["vocab"], H)
    return t


def hf_config(v):
    c = COMMON
    cfg = {
        "architectures": ["LlamaForCausalLM" if v["arch"] == "llama" else "Qwen2ForCausalLM"],
        "model_type": v["arch"],
        "hidden_size": c["hidden"],
        "intermediate_size": c["ffn"],
        "num_attention_heads": c["n_head"],
        "num_key_value_heads": c["n_kv_head"],
        "num_hidden_layers": c["n_layer"],
        "vocab_size": c["vocab"],
        "max_position_embeddings": v["ctx"],
        "rms_norm_eps": v["eps"],
        "rope_theta": v["rope_theta"],
        "rope_scaling": v["rope_scaling"],
        "tie_word_embeddings": v["tied"],
        "hidden_act": "silu",
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
        "initializer_range": 0.02,
        "use_cache": True,
    }
    if v["arch"] == "llama":
        cfg.update(head_dim=c["head_dim"], attention_bias=False, mlp_bias=False,
                   pretraining_tp=1)
    else:  # Qwen2 configs carry no head_dim (hidden / heads) and always have q/k/v biases.
        cfg.update(use_sliding_window=False, sliding_window=v["ctx"],
                   max_window_layers=c["n_layer"], attention_dropout=0.0)
    return cfg


# ---- GGUF conversion (convert_hf_to_gguf.py semantics) -----------------------------------------

def permute(w, n_head, n_head_kv):
    """LlamaModel.permute: HF's split-half RoPE layout -> ggml's adjacent-pair layout."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def llama3_rope_factors(v):
    """LlamaModel.generate_extra_tensors: per-frequency divisors stored as rope_freqs.weight."""
    s, dim, base = v["rope_scaling"], COMMON["head_dim"], v["rope_theta"]
    freqs = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    factor, lo, hi = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old_ctx = s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_ctx / lo, old_ctx / hi
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(1)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def gguf_tensors(v, hf):
    c = COMMON
    out = {}
    if v["rope_scaling"] is not None:
        out["rope_freqs.weight"] = llama3_rope_factors(v)
    out["token_embd.weight"] = hf["model.embed_tokens.weight"]
    names = {
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.o_proj.weight": "attn_output.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    }
    for i in range(c["n_layer"]):
        for hf_suffix, g_suffix in names.items():
            key = f"model.layers.{i}.{hf_suffix}"
            if key not in hf:
                continue
            t = hf[key]
            if v["arch"] == "llama" and hf_suffix.startswith("self_attn.q_proj"):
                t = permute(t, c["n_head"], c["n_head"])
            elif v["arch"] == "llama" and hf_suffix.startswith("self_attn.k_proj"):
                t = permute(t, c["n_head"], c["n_kv_head"])
            out[f"blk.{i}.{g_suffix}"] = np.ascontiguousarray(t)
    out["output_norm.weight"] = hf["model.norm.weight"]
    if not v["tied"]:
        out["output.weight"] = hf["lm_head.weight"]
    return out


def write_gguf(path, name, v, tensors):
    c, arch = COMMON, v["arch"]
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_vocab_size(c["vocab"])
    w.add_context_length(v["ctx"])
    w.add_embedding_length(c["hidden"])
    w.add_block_count(c["n_layer"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["n_head"])
    w.add_head_count_kv(c["n_kv_head"])
    w.add_rope_freq_base(v["rope_theta"])
    w.add_layer_norm_rms_eps(v["eps"])
    w.add_rope_dimension_count(c["head_dim"])
    if arch == "llama":  # the converter writes these when config.json has head_dim
        w.add_key_length(c["head_dim"])
        w.add_value_length(c["head_dim"])
    for tname, t in tensors.items():
        w.add_tensor(tname, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---- Reference forward passes (float64) --------------------------------------------------------

def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def attention(q, k, v):
    """q [T, nh, hd], k/v [T, nkv, hd]; causal; GQA head h reads kv head h // (nh / nkv)."""
    T, nh, hd = q.shape
    rep = nh // k.shape[1]
    k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    s = np.einsum("thd,shd->hts", q, k) / math.sqrt(hd)
    s = s + np.triu(np.full((T, T), -np.inf), 1)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", p, v).reshape(T, nh * hd)


def hf_inv_freq(v):
    """transformers' default / llama3 rope init (modeling_rope_utils)."""
    d, base = COMMON["head_dim"], v["rope_theta"]
    inv = 1.0 / base ** (np.arange(0, d, 2, dtype=np.float64) / d)
    s = v["rope_scaling"]
    if s is None:
        return inv
    factor, lo, hi = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old = s["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > old / lo, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    return np.where(medium, smoothed, scaled)


def rope_hf(x, inv_freq):
    """HF apply_rotary_pos_emb: rotate_half, pairs (i, i + d/2). x [T, heads, d]."""
    T = x.shape[0]
    ang = np.arange(T)[:, None] * inv_freq[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, axis=-1)[:, None, :]
    half = x.shape[-1] // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rot * sin


def rope_ggml(x, base, factors, neox):
    """ggml_rope_ext: theta_i = pos * base^(-2i/d) / factor_i; pairs (2i, 2i+1) in NORM mode
    (llama), (i, i + d/2) in NEOX mode (qwen2)."""
    T, _, d = x.shape
    i = np.arange(d // 2)
    theta = np.arange(T)[:, None] * base ** (-2.0 * i / d)[None, :] / factors[None, :]
    cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    out = x.copy()
    a_idx, b_idx = (i, i + d // 2) if neox else (2 * i, 2 * i + 1)
    a, b = x[..., a_idx], x[..., b_idx]
    out[..., a_idx] = a * cos - b * sin
    out[..., b_idx] = a * sin + b * cos
    return out


def forward_hf(v, t, tokens):
    c = COMMON
    W = {k: a.astype(np.float64) for k, a in t.items()}
    inv = hf_inv_freq(v)
    x = W["model.embed_tokens.weight"][tokens]
    T = len(tokens)
    for i in range(c["n_layer"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], v["eps"])
        proj = lambda n: h @ W[p + f"self_attn.{n}_proj.weight"].T + W.get(
            p + f"self_attn.{n}_proj.bias", 0.0)
        q = proj("q").reshape(T, c["n_head"], -1)
        k = proj("k").reshape(T, c["n_kv_head"], -1)
        val = proj("v").reshape(T, c["n_kv_head"], -1)
        o = attention(rope_hf(q, inv), rope_hf(k, inv), val)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], v["eps"])
        g = silu(h @ W[p + "mlp.gate_proj.weight"].T) * (h @ W[p + "mlp.up_proj.weight"].T)
        x = x + g @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], v["eps"])
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x @ head.T


def forward_gguf(path, tokens):
    """Reads the GGUF back (gguf-py) and runs it the way ggml/llama.cpp does."""
    r = gguf.GGUFReader(path)
    f = {k: fld.contents() for k, fld in r.fields.items() if not k.startswith("GGUF.")}
    arch = f["general.architecture"]
    W = {}
    for t in r.tensors:
        shape = list(reversed(t.shape.tolist()))  # GGML dims -> numpy shape
        W[t.name] = np.array(t.data, dtype=np.float64).reshape(shape)
    n_head, n_kv = f[f"{arch}.attention.head_count"], f[f"{arch}.attention.head_count_kv"]
    eps, base = f[f"{arch}.attention.layer_norm_rms_epsilon"], f[f"{arch}.rope.freq_base"]
    hd = f[f"{arch}.embedding_length"] // n_head
    factors = W.get("rope_freqs.weight", np.ones(hd // 2))
    neox = arch == "qwen2"
    x = W["token_embd.weight"][tokens]
    T = len(tokens)
    for i in range(f[f"{arch}.block_count"]):
        p = f"blk.{i}."
        h = rms_norm(x, W[p + "attn_norm.weight"], eps)
        proj = lambda n: h @ W[p + f"attn_{n}.weight"].T + W.get(p + f"attn_{n}.bias", 0.0)
        q = rope_ggml(proj("q").reshape(T, n_head, hd), base, factors, neox)
        k = rope_ggml(proj("k").reshape(T, n_kv, hd), base, factors, neox)
        o = attention(q, k, proj("v").reshape(T, n_kv, hd))
        x = x + o @ W[p + "attn_output.weight"].T
        h = rms_norm(x, W[p + "ffn_norm.weight"], eps)
        g = silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)
        x = x + g @ W[p + "ffn_down.weight"].T
    x = rms_norm(x, W["output_norm.weight"], eps)
    return x @ W.get("output.weight", W["token_embd.weight"]).T


def check_transformers(hf_dir, tokens, ref):
    import torch
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, torch_dtype=torch.float32)
    with torch.no_grad():
        out = model(torch.tensor([tokens])).logits[0].double().numpy()
    err = np.abs(out - ref).max()
    print(f"  transformers {transformers.__version__}: max |logit diff| = {err:.2e}",
          file=sys.stderr)
    assert err < 1e-4, err
    return transformers.__version__


# ---- Llama-3.1-8B layer shapes (GPU tests, --llama31-8b-shape) ----------------------------------

# Llama-3.1-8B-Instruct's config.json with fewer layers: the shapes the GPU kernels meet at scale
# (GQA 32/8, head_dim 128, d_ff 14336, vocab 128256, llama3 rope scaling).
LLAMA31_8B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "head_dim": 128, "vocab_size": 128256, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": False, "hidden_act": "silu", "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009], "torch_dtype": "bfloat16",
    "attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
}


def to_bf16_bytes(x):
    """float32 array -> BF16 bytes (round to nearest even), little-endian."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = u + (0x7FFF + ((u >> 16) & 1))
    return (rounded >> 16).astype("<u2").tobytes()


def write_llama31_shape(out, n_layer, seed):
    """HF directory (config.json + model.safetensors in BF16, no tokenizer) of random weights
    with Llama-3.1-8B's shapes and `n_layer` layers. Weights ~ N(0, 1/sqrt(fan_in)), norms ~ 1.
    The safetensors file is written directly (numpy has no bfloat16), tensor by tensor, so the
    peak memory stays at one tensor."""
    c = dict(LLAMA31_8B, num_hidden_layers=n_layer)
    H, F, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    q_dim, kv_dim = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"]
    shapes = [("model.embed_tokens.weight", (V, H), H)]
    for i in range(n_layer):
        p = f"model.layers.{i}."
        shapes += [(p + "input_layernorm.weight", (H,), None),
                   (p + "self_attn.q_proj.weight", (q_dim, H), H),
                   (p + "self_attn.k_proj.weight", (kv_dim, H), H),
                   (p + "self_attn.v_proj.weight", (kv_dim, H), H),
                   (p + "self_attn.o_proj.weight", (H, q_dim), q_dim),
                   (p + "post_attention_layernorm.weight", (H,), None),
                   (p + "mlp.gate_proj.weight", (F, H), H),
                   (p + "mlp.up_proj.weight", (F, H), H),
                   (p + "mlp.down_proj.weight", (H, F), F)]
    shapes += [("model.norm.weight", (H,), None), ("lm_head.weight", (V, H), H)]
    header, offset = {}, 0
    for name, shape, _ in shapes:
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt", "generator": "tools/make_tiny_models.py",
                              "seed": str(seed)}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    print(f"llama3.1-8b shapes, {n_layer} layers: seed {seed}, {offset / 2**30:.2f} GiB",
          file=sys.stderr)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for name, shape, fan_in in shapes:
            rows = shape[0]
            step = max(1, (1 << 26) // int(np.prod(shape[1:])))  # ~64M values at a time
            for r0 in range(0, rows, step):
                part = (rows if len(shape) == 1 else min(step, rows - r0),) + tuple(shape[1:])
                if fan_in is None:
                    x = 1.0 + rng.normal(0.0, 0.1, size=part)
                else:
                    x = rng.normal(0.0, 1.0 / math.sqrt(fan_in), size=part)
                f.write(to_bf16_bytes(x.astype(np.float32)))
                if len(shape) == 1:
                    break
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")


# ---- Main --------------------------------------------------------------------------------------

def write_variant(out, name, v, check_hf):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "hf"), exist_ok=True)
    print(f"{name}: seed {v['seed']}", file=sys.stderr)
    rng = np.random.default_rng(v["seed"])
    hf = make_weights(v, rng)
    gguf_path = os.path.join(d, "model.gguf")
    write_gguf(gguf_path, name, v, gguf_tensors(v, hf))
    save_file(hf, os.path.join(d, "hf", "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "hf", "config.json"), "w") as f:
        json.dump(hf_config(v), f, indent=2)
        f.write("\n")

    ref = forward_hf(v, hf, TOKENS)
    err = np.abs(forward_gguf(gguf_path, TOKENS) - ref).max()
    print(f"  GGUF (ggml rope on converted weights) vs HF forward: max diff {err:.2e}",
          file=sys.stderr)
    assert err < 1e-6, err  # rope_freqs.weight is stored in fp32: ~1e-9 for llama3
    if check_hf:
        check_transformers(os.path.join(d, "hf"), TOKENS, ref)
    ref.astype("<f4").tofile(os.path.join(d, "logits.f32"))
    meta = {
        "tokens": TOKENS,
        "logits_file": "logits.f32",
        "logits_shape": [len(TOKENS), COMMON["vocab"]],
        "logits_dtype": "float32 little-endian, row-major",
        "computed_by": "tools/make_tiny_models.py float64 numpy forward pass (HF semantics); "
                       "agrees with a ggml-semantics pass over model.gguf to 1e-6",
        "logit_std": round(float(ref.std()), 4),
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description="Write tiny random-weight GGUF + HF models.")
    ap.add_argument("--out", help="output dir, e.g. tests/fixtures/tiny")
    ap.add_argument("--check-transformers", action="store_true",
                    help="also compare the reference logits with transformers (needs torch)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--llama31-8b-shape", metavar="DIR",
                    help="instead: write a random-weight HF model with Llama-3.1-8B's shapes "
                         "(BF16 safetensors, no tokenizer) into DIR")
    ap.add_argument("--layers", type=int, default=2, help="layers of --llama31-8b-shape")
    ap.add_argument("--seed", type=int, default=131, help="seed of --llama31-8b-shape")
    args = ap.parse_args()
    if args.llama31_8b_shape:
        write_llama31_shape(args.llama31_8b_shape, args.layers, args.seed)
        return
    if not args.out:
        ap.error("--out is required (unless --llama31-8b-shape)")
    for name in args.variants:
        write_variant(args.out, name, VARIANTS[name], args.check_transformers)


if __name__ == "__main__":
    main()
