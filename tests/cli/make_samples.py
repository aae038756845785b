#!/usr/bin/env python3
"""Writes a few small needle-in-a-haystack samples in the `run` input format (our own text)."""
import json
import random
import sys

NOISE = ("The grass is green. The sky is blue. The sun is yellow. Here we go. "
         "There and back again. ")
out, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
with open(out, "w") as f:
    for i in range(n):
        key = rng.randint(1000000, 9999999)
        parts = [NOISE] * reps
        parts.insert(rng.randint(0, reps), f"One of the special magic numbers for blue-river-{i} is: {key}. ")
        ctx = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
               "Face<|im_end|>\n<|im_start|>user\nSome special magic numbers are hidden within the "
               "following text. Make sure to memorize it.\n" + "".join(parts))
        query = (f"\nWhat is the special magic number for blue-river-{i} mentioned in the provided "
                 "text?<|im_end|>\n<|im_start|>assistant\n The special magic number for "
                 f"blue-river-{i} mentioned in the provided text is")
        f.write(json.dumps({"index": i, "input_context": ctx, "input_query": query,
                            "outputs": [str(key)]}) + "\n")
