#!/usr/bin/env python3
"""Writes the golden-logit fixtures: llama.cpp's top-k logits at every position of 20 prompts
(10 to 2,000 tokens) on the default model, for tests/fixtures/logits/.

llama.cpp is the independent reference (PyPI `llama-cpp-python`, which builds it from source).
Two references are written:
(KV cache in F32 for both.)
  * smollm2_f32.json  - llama.cpp on an F32 copy of the default model whose weights are the Q4_1
                        weights dequantized (by gguf-py). Same weights as our engine, fp32 math on
                        both sides: the strict comparison.
  * smollm2_q4_1.json - llama.cpp on the original Q4_1 file. llama.cpp multiplies Q4_1 weights with
                        activations quantized to Q8_1, so logits differ by the activation
                        quantization error: the loose comparison.
The prompts are our own text (no shared data is committed): chat-template questions, RULER-style
noise haystacks with a needle, code, numbers and lists.

usage: python3 tools/make_logit_fixtures.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
           --out tests/fixtures/logits [--top-k 4]
(needs: pip install llama-cpp-python gguf numpy)
"""
import argparse
import json
import os
import random
import tempfile

import numpy as np

SEED = 1234

QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three prime numbers greater than 100.",
]

NOISE = ("The grass is green. The sky is blue. The sun is yellow. Here we go. "
         "There and back again. ")

PROSE = [
    "A long context is only useful if the model can find what it needs in it.",
    "Engineers measured the latency of every phase before they changed a single line.",
    "The river bent twice before it reached the old mill, where the children used to swim.",
    "In the spring of that year the committee met only once, and nobody remembered why.",
    "Each host encodes its own blocks without talking to the others.",
    "She wrote the numbers down carefully: 3.14159, 2.71828, 1.41421 and 1.61803.",
    "Tokens, positions and caches are the bookkeeping of attention.",
    "On Tuesday, 12 March 2024, the price rose from $1,299.99 to $1,349.50 (+3.8%).",
]

CODE = '''def merge_states(out_a, lse_a, out_b, lse_b):
    """Merges two attention states; lse is the natural-log log-sum-exp."""
    m = max(lse_a, lse_b)
    if m == float("-inf"):
        return out_a, m
    wa, wb = math.exp(lse_a - m), math.exp(lse_b - m)
    return (wa * out_a + wb * out_b) / (wa + wb), m + math.log(wa + wb)

for i in range(10):
    print(f"{i:3d} -> {i * i:5d}")
'''


def chatml(user):
    return ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n")


def make_text(rng, kind, approx_words):
    if kind == "chat":
        return chatml(rng.choice(QUESTIONS))
    if kind == "haystack":
        n = max(1, approx_words // 20)
        parts = [NOISE] * n
        key = rng.randint(1000000, 9999999)
        parts.insert(rng.randint(0, n), f"One of the special magic numbers for long-context is: {key}. ")
        return chatml("Some special magic numbers are hidden within the following text. Make sure "
                      "to memorize it.\n" + "".join(parts) + "\nWhat is the special magic number "
                      "for long-context mentioned in the provided text?")
    if kind == "code":
        reps = max(1, approx_words // 60)
        return "\n".join(CODE.replace("range(10)", f"range({rng.randint(2, 99)})") for _ in range(reps))
    # prose
    out = []
    while len(" ".join(out).split()) < approx_words:
        out.append(rng.choice(PROSE))
    return " ".join(out)


def dequantized_copy(src, dst):
    """Writes an F32 GGUF with the same metadata and the dequantized tensors of `src`."""
    import gguf
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(dst, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(name, f.contents(), vt, sub_type=f.types[-1])
        else:
            w.add_key_value(name, f.contents(), vt)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    for t in r.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, data.reshape([int(d) for d in reversed(t.shape)]),
                     raw_dtype=gguf.GGMLQuantizationType.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def reference(model_path, prompts, top_k, threads):
    from llama_cpp import Llama
    # KV cache in F32 (type 0) rather than llama.cpp's default F16, so that the cache adds no
    # rounding of its own.
    llm = Llama(model_path=model_path, n_ctx=4096, n_batch=512, logits_all=True,
                n_threads=threads, type_k=0, type_v=0, verbose=False)
    result = []
    for p in prompts:
        ids = p["ids"]
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)], dtype=np.float32)  # [n, vocab]
        top = []
        for row in scores:
            idx = np.argsort(-row, kind="stable")[:top_k]
            top.append([[int(i), round(float(row[i]), 4)] for i in idx])
        result.append({"name": p["name"], "text": p["text"], "ids": ids, "top": top})
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    from llama_cpp import Llama
    tok = Llama(model_path=args.model, vocab_only=True, verbose=False)
    rng = random.Random(SEED)
    print(f"seed {SEED}")
    targets = [10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 700, 900, 1100, 1300, 1500,
               1700, 1850, 2000]
    kinds = ["chat", "prose", "code", "haystack"]
    prompts = []
    for i, n in enumerate(targets):
        kind = "chat" if n <= 60 and i % 2 == 0 and i > 0 else kinds[i % 4] if n > 60 else "prose"
        if kind == "chat" and n > 60:
            kind = "haystack"
        words = n
        while True:
            text = make_text(rng, kind, words)
            ids = tok.tokenize(text.encode(), add_bos=False, special=True)
            if len(ids) >= n or kind == "chat":
                break
            words = int(words * 1.3) + 5
        ids = ids[:n] if kind != "chat" else ids
        prompts.append({"name": f"{i:02d}_{kind}_{len(ids)}", "text": text, "ids": ids})
    print("prompt lengths:", [len(p["ids"]) for p in prompts])
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        f32 = os.path.join(tmp, "f32.gguf")
        dequantized_copy(args.model, f32)
        for fname, path in (("smollm2_f32.json", f32), ("smollm2_q4_1.json", args.model)):
            data = {"reference": "llama.cpp (llama-cpp-python) " + (
                        "on the dequantized F32 copy" if path == f32 else "on the Q4_1 file"),
                    "model_sha256_q4_1": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                    "top_k": args.top_k, "seed": SEED,
                    "prompts": reference(path, prompts, args.top_k, args.threads)}
            with open(os.path.join(args.out, fname), "w") as f:
                json.dump(data, f, separators=(",", ":"))
            print("wrote", os.path.join(args.out, fname))


if __name__ == "__main__":
    main()
