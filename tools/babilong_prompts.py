#!/usr/bin/env python3
"""Writes the BABILong reference profile's input files from a clone of the reference repository.

  OUT/default_prompts.json  the reference's prompts and templates, as the reference profile reads
                            them (babilong/prompts.h of this project):
                              {"task_template", "user_template", "default_template",
                               "prompts": {"qa1": {"instruction", "examples", "post_prompt"}, ...}}
                            taken unchanged from the clone's babilong/prompts.py (TASK_TEMPLATE,
                            USER_TEMPLATE, DEFAULT_TEMPLATE, DEFAULT_PROMPTS).
  OUT/test_100_idxs.json    the clone's data/test_100_idxs.json (the 100-sample test subset),
                            copied byte for byte; the profile looks for it beside the prompts file.
  OUT/LICENSE               the clone's LICENSE (Apache-2.0).

The module is loaded from its file (it imports nothing), so the clone needs no Python packages.
The written prompts file has the layout of ../shared/data/babilong-prompts/default_prompts.json
(json.dump, indent 1, UTF-8); run with --check DIR to compare the two byte for byte.

Usage:
  git clone https://github.com/booydar/babilong /tmp/babilong   # 7a6efee or later
  python3 tools/babilong_prompts.py --reference /tmp/babilong --out my-prompts/
Then set "prompts": "my-prompts/default_prompts.json" in a sweep config's "babilong" (with
"profile": "reference"), or pass --profile reference --prompts my-prompts/default_prompts.json.
"""

import argparse
import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys


def load_prompts_module(clone):
    path = os.path.join(clone, "babilong", "prompts.py")
    if not os.path.isfile(path):
        sys.exit(f"babilong_prompts: {path} not found: --reference must be a clone of "
                 "booydar/babilong")
    spec = importlib.util.spec_from_file_location("babilong_reference_prompts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("TASK_TEMPLATE", "USER_TEMPLATE", "DEFAULT_TEMPLATE", "DEFAULT_PROMPTS"):
        if not hasattr(module, name):
            sys.exit(f"babilong_prompts: {path} has no {name}")
    return module


def prompts_json(module):
    prompts = {}
    for task, p in module.DEFAULT_PROMPTS.items():
        missing = [k for k in ("instruction", "examples", "post_prompt") if k not in p]
        if missing:
            sys.exit(f"babilong_prompts: DEFAULT_PROMPTS['{task}'] has no {', '.join(missing)}")
        prompts[task] = {k: p[k] for k in ("instruction", "examples", "post_prompt")}
    return {
        "task_template": module.TASK_TEMPLATE,
        "user_template": module.USER_TEMPLATE,
        "default_template": module.DEFAULT_TEMPLATE,
        "prompts": prompts,
    }


def commit_of(clone):
    try:
        return subprocess.run(["git", "-C", clone, "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True, help="clone of booydar/babilong")
    ap.add_argument("--out", required=True, help="folder to write the files into")
    ap.add_argument("--check", help="a folder with the same files to compare with, byte for byte")
    args = ap.parse_args()

    module = load_prompts_module(args.reference)
    os.makedirs(args.out, exist_ok=True)
    out_prompts = os.path.join(args.out, "default_prompts.json")
    with open(out_prompts, "w", encoding="utf-8") as f:
        json.dump(prompts_json(module), f, indent=1, ensure_ascii=False)
    for src, name in (("data/test_100_idxs.json", "test_100_idxs.json"), ("LICENSE", "LICENSE")):
        path = os.path.join(args.reference, src)
        if not os.path.isfile(path):
            sys.exit(f"babilong_prompts: {path} not found")
        shutil.copyfile(path, os.path.join(args.out, name))
    print(f"babilong_prompts: wrote {out_prompts}, test_100_idxs.json and LICENSE from "
          f"{args.reference} at {commit_of(args.reference)}")

    if args.check:
        bad = [n for n in ("default_prompts.json", "test_100_idxs.json")
               if not filecmp.cmp(os.path.join(args.out, n), os.path.join(args.check, n),
                                  shallow=False)]
        if bad:
            sys.exit(f"babilong_prompts: differ from {args.check}: {', '.join(bad)}")
        print(f"babilong_prompts: identical to {args.check}")


if __name__ == "__main__":
    main()
