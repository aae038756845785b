#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (deterministic;
standard library only).

Seeds are small valid inputs (the fuzzer mutates from them): the GGUF and safetensors fixtures of
tests/fixtures/io, tiny model configs of tests/fixtures/tiny, GGUF files and tokenizer.json files
written here (byte-level BPE, SentencePiece-style), and texts of the tokenizer corpus
(tests/fixtures/tokenizer/corpus_generated.jsonl). Multi-part inputs are joined with NUL bytes, as
tests/fuzz/fuzz_util.h SplitParts reads them:
  safetensors_fuzz:     config.json \\0 model.safetensors (empty config: none)
  tokenizer_json_fuzz:  tokenizer.json \\0 tokenizer_config.json \\0 text
  tokenizer_roundtrip_fuzz, gguf_fuzz: the raw bytes
  records_fuzz, run_inputs_fuzz, sweep_config_fuzz: the file's bytes

usage: tools/make_fuzz_corpus.py [--root DIR]
"""

import argparse
import hashlib
import json
import os
import shutil
import struct

# ---- GGUF (v3, little-endian) ---------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(kind, v):
    if kind == STRING:
        return gguf_string(v)
    if kind == ARRAY:
        elem_kind, items = v
        return struct.pack("<IQ", elem_kind, len(items)) + b"".join(
            gguf_value(elem_kind, x) for x in items)
    fmt = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?",
           U64: "Q", I64: "q", F64: "d"}[kind]
    return struct.pack("<" + fmt, v)


def gguf_file(metadata, tensors, alignment=32):
    """metadata: [(key, kind, value)]; tensors: [(name, ggml_dims, ggml_type, data bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, kind, value in metadata:
        out += gguf_string(key) + struct.pack("<I", kind) + gguf_value(kind, value)
    offset = 0
    offsets = []
    for name, dims, ggml_type, data in tensors:
        offsets.append(offset)
        out += gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, offset)
        offset += (len(data) + alignment - 1) // alignment * alignment
    out += b"\0" * ((-len(out)) % alignment)
    for (_, _, _, data), off in zip(tensors, offsets):
        out += data + b"\0" * ((-len(data)) % alignment)
    return out


def f32_bytes(values):
    return struct.pack("<%df" % len(values), *values)


def q8_0_block(scale_bits, qs):
    return struct.pack("<H", scale_bits) + struct.pack("<32b", *qs)


def q4_0_block(scale_bits, nibbles):
    return struct.pack("<H", scale_bits) + bytes(nibbles)


# ---- Tokenizers -----------------------------------------------------------------------------


def byte_chars():
    """GPT-2's byte -> printable character table."""
    direct = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 256
    for b in range(256):
        if b in direct:
            table[b] = chr(b)
        else:
            table[b] = chr(extra)
            extra += 1
    return table


BC = byte_chars()
SP = BC[ord(" ")]
META = "\u2581"


def byte_level_vocab():
    vocab = {BC[b]: b for b in range(256)}
    merges = []
    for a, b in [(SP, "t"), ("h", "e"), (SP + "t", "he"), ("a", "b"), ("ab", "c"), (SP, "a"),
                 ("1", "2"), (SP, SP), ("\n", "\n"), ("i", "n"), (SP, "in")]:
        a, b = a.replace("\n", BC[10]), b.replace("\n", BC[10])
        vocab.setdefault(a + b, len(vocab))
        merges.append((a, b))
    return vocab, merges


def spm_vocab():
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    pieces += [META, "a", "b", "c", "e", "h", "t", "i", "n"]
    merges = [(META, "t"), ("h", "e"), (META + "t", "he"), ("a", "b"), ("ab", "c"), (META, "a"),
              (META, META), ("i", "n"), (META, "in")]
    for a, b in merges:
        if a + b not in pieces:
            pieces.append(a + b)
    return pieces, merges


def tokenizer_json_byte_level(extra=None):
    vocab, merges = byte_level_vocab()
    n = len(vocab)
    j = {
        "version": "1.0",
        "added_tokens": [
            {"id": n, "content": "<|im_start|>", "special": True},
            {"id": n + 1, "content": "<|im_end|>", "special": True},
            {"id": n + 2, "content": "<|endoftext|>", "special": True},
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    if extra:
        j.update(extra)
    return j


def tokenizer_json_metaspace(extra=None):
    pieces, merges = spm_vocab()
    j = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": p, "special": True}
                         for i, p in enumerate(["<unk>", "<s>", "</s>"])],
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": META, "prepend_scheme": "first",
                          "split": False},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}]},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": META}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "vocab": {p: i for i, p in enumerate(pieces)},
                  "merges": [[a, b] for a, b in merges], "byte_fallback": True,
                  "unk_token": "<unk>", "fuse_unk": True},
    }
    if extra:
        j.update(extra)
    return j


def tokenizer_gguf_gpt2(pre):
    vocab, merges = byte_level_vocab()
    tokens = sorted(vocab, key=vocab.get) + ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    types = [1] * (len(tokens) - 3) + [3, 3, 3]
    return [
        ("tokenizer.ggml.model", STRING, "gpt2"),
        ("tokenizer.ggml.pre", STRING, pre),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
        ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
        ("tokenizer.ggml.merges", ARRAY, (STRING, [a + " " + b for a, b in merges])),
        ("tokenizer.ggml.bos_token_id", U32, len(tokens) - 3),
        ("tokenizer.ggml.eos_token_id", U32, len(tokens) - 2),
        ("tokenizer.chat_template", STRING,
         "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
         "{% endfor %}"),
    ]


def tokenizer_gguf_llama():
    pieces, merges = spm_vocab()
    rank = {a + b: i for i, (a, b) in enumerate(merges)}
    scores = [-float(rank.get(p, 1000 + i)) for i, p in enumerate(pieces)]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(pieces) - 259)
    return [
        ("tokenizer.ggml.model", STRING, "llama"),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, pieces)),
        ("tokenizer.ggml.scores", ARRAY, (F32, scores)),
        ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
        ("tokenizer.ggml.bos_token_id", U32, 1),
        ("tokenizer.ggml.eos_token_id", U32, 2),
        ("tokenizer.ggml.unknown_token_id", U32, 0),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
        ("tokenizer.ggml.add_space_prefix", BOOL, True),
    ]


def tiny_llama_gguf(arch, tokenizer_meta, vocab):
    d, ff, heads, kv = 32, 64, 4, 2
    head = d // heads
    meta = [
        ("general.architecture", STRING, arch),
        ("general.alignment", U32, 32),
        (arch + ".block_count", U32, 1),
        (arch + ".embedding_length", U32, d),
        (arch + ".feed_forward_length", U32, ff),
        (arch + ".attention.head_count", U32, heads),
        (arch + ".attention.head_count_kv", U32, kv),
        (arch + ".context_length", U32, 256),
        (arch + ".attention.layer_norm_rms_epsilon", F32, 1e-5),
        (arch + ".rope.freq_base", F32, 10000.0),
        (arch + ".rope.dimension_count", U32, head),
        (arch + ".vocab_size", U32, vocab),
    ] + tokenizer_meta
    # Token embedding in Q8_0 (rows of d = 32 elements: one block each), output norm in F32,
    # layer weights in Q4_0 / F32 (one of each kind is enough to reach every reader path).
    emb = b"".join(q8_0_block(0x2C00, [((r * 7 + c) % 255) - 127 for c in range(32)])
                   for r in range(vocab))
    tensors = [
        ("token_embd.weight", [d, vocab], GGML_Q8_0, emb),
        ("output_norm.weight", [d], GGML_F32, f32_bytes([1.0] * d)),
        ("blk.0.attn_norm.weight", [d], GGML_F32, f32_bytes([1.0] * d)),
        ("blk.0.attn_q.weight", [d, heads * head], GGML_Q4_0,
         b"".join(q4_0_block(0x2C00, [(r + c) % 256 for c in range(16)]) for r in range(d))),
        ("blk.0.ffn_norm.weight", [d], GGML_F32, f32_bytes([0.5] * d)),
        ("rope_freqs.weight", [head // 2], GGML_F32, f32_bytes([1.0] * (head // 2))),
    ]
    return gguf_file(meta, tensors)


# ---- safetensors ----------------------------------------------------------------------------


def safetensors_file(tensors, metadata=None):
    """tensors: [(name, dtype, shape, data bytes)]."""
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        data += blob
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tiny_hf_config(model_type="llama", **extra):
    c = {"model_type": model_type, "hidden_size": 8, "intermediate_size": 16,
         "num_attention_heads": 2, "num_key_value_heads": 1, "num_hidden_layers": 1,
         "vocab_size": 4, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
         "rope_theta": 10000.0, "tie_word_embeddings": True}
    c.update(extra)
    return json.dumps(c, indent=1).encode()


def tiny_hf_checkpoint():
    return safetensors_file([
        ("model.embed_tokens.weight", "F32", [4, 8], f32_bytes([0.1 * i for i in range(32)])),
        ("model.norm.weight", "BF16", [8], struct.pack("<8H", *([0x3F80] * 8))),
        ("model.layers.0.self_attn.q_proj.weight", "F16", [8, 8], struct.pack("<64H", *([0x3C00] * 64))),
        ("model.layers.0.mlp.gate_proj.weight", "I8", [2, 2], bytes([1, 2, 3, 4])),
    ], metadata={"format": "pt"})


# ---- Writing --------------------------------------------------------------------------------


def write(dirname, name, data):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name), "wb") as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    corpus = os.path.join(root, "tests", "fuzz", "corpus")
    fixtures = os.path.join(root, "tests", "fixtures")
    shutil.rmtree(corpus, ignore_errors=True)

    # gguf_fuzz
    d = os.path.join(corpus, "gguf_fuzz")
    os.makedirs(d, exist_ok=True)
    for f in ["meta.gguf", "dequant.gguf"]:
        shutil.copy(os.path.join(fixtures, "io", f), os.path.join(d, f))
    n_bpe = len(byte_level_vocab()[0]) + 3
    write(d, "llama_gpt2_tokenizer.gguf", tiny_llama_gguf("llama", tokenizer_gguf_gpt2("smollm"), n_bpe))
    write(d, "qwen2_gpt2_tokenizer.gguf", tiny_llama_gguf("qwen2", tokenizer_gguf_gpt2("qwen2"), n_bpe))
    write(d, "llama3_tokenizer.gguf", tiny_llama_gguf("llama", tokenizer_gguf_gpt2("llama-bpe"), n_bpe))
    write(d, "llama_spm_tokenizer.gguf",
          tiny_llama_gguf("llama", tokenizer_gguf_llama(), len(spm_vocab()[0])))

    # safetensors_fuzz: config.json \0 model.safetensors
    d = os.path.join(corpus, "safetensors_fuzz")
    ck = tiny_hf_checkpoint()
    write(d, "llama", tiny_hf_config() + b"\0" + ck)
    write(d, "qwen2", tiny_hf_config("qwen2", num_key_value_heads=None, sliding_window=64,
                                     use_sliding_window=False) + b"\0" + ck)
    write(d, "llama3_scaling", tiny_hf_config(rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32}, head_dim=4) + b"\0" + ck)
    write(d, "linear_scaling", tiny_hf_config("mistral", rope_scaling={"type": "linear", "factor": 2.0})
          + b"\0" + ck)
    with open(os.path.join(fixtures, "io", "st", "single", "model.safetensors"), "rb") as f:
        single = f.read()
    for name in ["qwen2", "llama3-scaled", "llama-tied"]:
        with open(os.path.join(fixtures, "tiny", name, "hf", "config.json"), "rb") as f:
            write(d, "fixture_" + name, f.read() + b"\0" + single)
    write(d, "checkpoint_only", b"\0" + single)  # no config (a raw checkpoint has NULs)

    # tokenizer_json_fuzz: tokenizer.json \0 tokenizer_config.json \0 text
    d = os.path.join(corpus, "tokenizer_json_fuzz")
    text = "Hello world! <|im_end|> in the tab\there 12 \u00e9\u65e5\u672c \U0001F916\n".encode()
    cfg = json.dumps({"bos_token": "<|im_start|>", "eos_token": {"content": "<|im_end|>"},
                      "add_bos_token": False,
                      "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}).encode()
    variants = {
        "byte_level": tokenizer_json_byte_level(),
        "byte_level_ignore_merges": tokenizer_json_byte_level(),
        "byte_level_split_sequence": tokenizer_json_byte_level({
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated",
                 "invert": False},
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}}),
        "metaspace": tokenizer_json_metaspace(),
        "metaspace_normalizers": tokenizer_json_metaspace({
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": META},
                {"type": "Replace", "pattern": {"String": " "}, "content": META},
                {"type": "NFKC"}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Punctuation", "behavior": "Isolated"},
                {"type": "WhitespaceSplit"}]}}),
    }
    # The inline chat templates of the tokenizer fixtures (qwen2, llama2 styles).
    with open(os.path.join(fixtures, "tokenizer", "chat_templates.json"), encoding="utf-8") as f:
        templates = json.load(f)["templates"]
    for name, t in sorted(templates.items()):
        if "inline" in t["source"]:
            c = json.dumps({"bos_token": "<s>", "eos_token": "</s>",
                            "chat_template": t["source"]["inline"]}).encode()
            tj = json.dumps(tokenizer_json_metaspace(), ensure_ascii=False).encode()
            write(d, "chat_template_" + name, tj + b"\0" + c + b"\0" + text)
    variants["byte_level_ignore_merges"]["model"]["ignore_merges"] = True
    variants["metaspace"]["added_tokens"].append(
        {"id": len(variants["metaspace"]["model"]["vocab"]), "content": "<tool>", "special": False,
         "lstrip": True, "rstrip": True, "single_word": True})
    for name, j in variants.items():
        tj = json.dumps(j, ensure_ascii=False).encode()
        write(d, name, tj + b"\0" + cfg + b"\0" + text)
        write(d, name + "_no_config", tj)

    # tokenizer_roundtrip_fuzz: texts of the tokenizer corpus (the shorter documents)
    d = os.path.join(corpus, "tokenizer_roundtrip_fuzz")
    with open(os.path.join(fixtures, "tokenizer", "corpus_generated.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    kept = 0
    for doc in docs:
        data = doc.encode("utf-8", "surrogatepass")
        if 0 < len(data) <= 512:
            write(d, hashlib.sha1(data).hexdigest()[:16], data)
            kept += 1
    write(d, "invalid_utf8", b"ab\xff\xfe c\xc3 \xe2\x96 x\xf0\x9f\x98")

    # records_fuzz: prediction files (the report fixtures' first lines), torn and unterminated
    # last lines, BABILong records with a match mode
    d = os.path.join(corpus, "records_fuzz")
    for run in ["dense/4k", "star-h2-b4/2k", "ring-h2/4k"]:
        with open(os.path.join(fixtures, "report", "results", "m", run, "pred.jsonl"), "rb") as f:
            lines = f.read().splitlines(keepends=True)[:3]
        name = run.replace("/", "_")
        write(d, name, b"".join(lines))
        write(d, name + "_torn", b"".join(lines) + lines[0][: len(lines[0]) // 2])
        write(d, name + "_unterminated", b"".join(lines).rstrip(b"\n"))
    babilong = [{"sample_key": "qa1/%d" % i, "task": "qa1", "index": i, "length_name": "4k",
                 "outputs": ["kitchen"], "question": "Where is John?", "pred": p, **extra}
                for i, (p, extra) in enumerate([("The kitchen.", {}), ("kitchen", {"match": "prefix"}),
                                                ("hallway", {"match": "substring"})])]
    write(d, "babilong", b"".join(json.dumps(r).encode() + b"\n" for r in babilong))

    # run_inputs_fuzz: task samples (the BABILong fixture's lines with their context cut, RULER-
    # style lines with "output", without index, with tokens_to_generate)
    d = os.path.join(corpus, "run_inputs_fuzz")
    with open(os.path.join(root, "tasks", "babilong-fixture", "qa1_2k.jsonl"), encoding="utf-8") as f:
        samples = [json.loads(line) for line in f][:3]
    for s in samples:
        for k in ["input_context", "input"]:
            s[k] = s[k][:160]
    write(d, "babilong_qa1", b"".join(json.dumps(s).encode() + b"\n" for s in samples))
    ruler = [{"index": 0, "task": "niah_single_1", "input_context": "The magic number is 42. ",
              "input_query": "What is the magic number?", "outputs": ["42"], "length": 12,
              "length_limit": 4096, "tokens_to_generate": 32},
             {"task": "vt", "input_context": "VAR A = 1", "input_query": "Which?", "output": "A"},
             {"index": 7, "input_context": "", "input_query": "q", "outputs": "x"}]
    write(d, "ruler", b"".join(json.dumps(s).encode() + b"\n" for s in ruler))

    # sweep_config_fuzz: the committed sweep configs (a mask file as masks/mix.json, which the
    # target provides)
    d = os.path.join(corpus, "sweep_config_fuzz")
    for name in sorted(os.listdir(os.path.join(root, "tasks"))):
        if name.endswith(".json"):
            with open(os.path.join(root, "tasks", name), encoding="utf-8") as f:
                cfg = json.load(f)
            for a in cfg.get("attention", []):
                if "mask_file" in a:
                    a["mask_file"] = "masks/mix.json"
            write(d, name[:-5], json.dumps(cfg, indent=1).encode())

    for t in sorted(os.listdir(corpus)):
        files = os.listdir(os.path.join(corpus, t))
        size = sum(os.path.getsize(os.path.join(corpus, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
