#!/usr/bin/env python3
"""Writes tests/fixtures/babilong/compare_answers.json: the BABILong reference's own verdicts on
a table of (task, target, output, question) cases, for babilong/profile_test.cc to check that the
reference profile's matcher (babilong::CompareAnswers with MatchMode::kSubstring) agrees.

The verdicts come from running the reference's compare_answers and TASK_LABELS
(babilong/metrics.py of a clone of booydar/babilong, loaded from its file: it imports nothing);
nothing of the reference is copied into the fixture but the task labels it scores with.

The cases cover the answers of qa6-qa10 (yes / no, none / one / two / three, lists of objects,
nothing, maybe) as models write them (capitals, a full stop, an explanation, a second label),
the traps of substring matching ("one" in "none", "no" in "not", "nothing", "know"), labels in
the question, and a few qa1-qa5 and qa19/qa20 answers.

Usage:
  git clone https://github.com/booydar/babilong /tmp/babilong   # 7a6efee or later
  python3 tools/make_babilong_metric_fixture.py --reference /tmp/babilong
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "fixtures", "babilong", "compare_answers.json")

# (task, target, question, [outputs])
CASES = [
    ("qa6", "yes", "Is Daniel in the hallway?",
     ["yes", "Yes", "Yes.", "yes, he is", "Yes, Daniel is in the hallway.", "no", "No.",
      "Yes and no", "Not sure", "yes, but he is not there anymore", "The answer is yes",
      "I don't know", "", "nope", "YES<context>no", "Yes <example> no"]),
    ("qa6", "no", "Is Mary in the bathroom?",
     ["no", "No", "No.", "No, she is not.", "Not in the bathroom", "nothing", "I know",
      "yes", "no. yes", "No, Mary is in the kitchen.", "none", "Mary is not there"]),
    ("qa7", "none", "How many objects is Mary carrying?",
     ["none", "None", "None.", "None of them", "nothing", "zero", "0", "one", "none. one"]),
    ("qa7", "one", "How many objects is Daniel carrying?",
     ["one", "One.", "One object", "1", "Daniel is carrying one object.", "none", "someone",
      "one or two", "two", "Only one"]),
    ("qa7", "two", "How many objects is Sandra carrying?",
     ["two", "Two.", "2", "two objects", "twenty", "between one and two", "three", "Two, then one"]),
    ("qa7", "three", "How many objects is John carrying?",
     ["three", "Three.", "3", "three objects", "two", "three. two"]),
    ("qa8", "nothing", "What is Sandra carrying?",
     ["nothing", "Nothing.", "Sandra is carrying nothing", "nothing at all", "milk", "none",
      "nothing, the milk"]),
    ("qa8", "apple", "What is Daniel carrying?",
     ["apple", "The apple.", "an apple", "apple,milk", "pineapple", "apples", "nothing"]),
    ("qa8", "milk", "What is Mary carrying?",
     ["milk", "Milk", "the milk and the football", "milkshake", "nothing but milk"]),
    ("qa8", "apple,milk", "What is Daniel carrying?",
     ["apple,milk", "milk,apple", "apple, milk", "The apple and the milk", "milk and apple.",
      "apple", "apple, milk, football", "apple,milk,nothing", "milk. apple"]),
    ("qa8", "football,milk", "What is John carrying?",
     ["football,milk", "milk, football", "football", "football and milk and apple"]),
    ("qa9", "yes", "Is John in the bedroom?",
     ["yes", "Yes.", "yes, he is not elsewhere", "no", "Yes, John is in the bedroom.", "yeah"]),
    ("qa9", "no", "Is Sandra in the office?",
     ["no", "No.", "No, she is not.", "not", "She is not in the office", "yes", "nobody knows"]),
    ("qa10", "maybe", "Is Bill in the school?",
     ["maybe", "Maybe.", "maybe not", "Maybe yes", "perhaps", "yes", "It may be", "maybe, no"]),
    ("qa10", "yes", "Is Fred in the park?",
     ["yes", "Yes.", "yes, maybe", "no", "yes. maybe"]),
    ("qa10", "no", "Is Julie in the cinema?",
     ["no", "No.", "no, she is not", "maybe", "Not in the cinema", "no. maybe"]),
    # labels in the question are never the answer
    ("qa3", "garden", "Where was the apple before the kitchen?",
     ["Before the kitchen the apple was in the garden.", "kitchen", "garden, then kitchen"]),
    ("qa4", "office", "What is the hallway east of?",
     ["office", "The hallway is east of the office.", "hallway"]),
    ("qa5", "Fred", "Who gave the football to Jeff?",
     ["Fred", "fred gave it to Jeff", "Jeff", "Frederick"]),
    ("qa1", "bathroom", "Where is Mary?",
     ["The most recent location of Mary is bathroom.", "bathroom or kitchen", "Bathroom."]),
    ("qa19", "n,w", "How do you go from the garden to the office?",
     ["n,w", "n, w", "w,n", "n,w,s"]),
    ("qa20", "hungry", "Why did antoine go to the kitchen?",
     ["hungry", "Because he was hungry.", "kitchen", "thirsty and hungry"]),
]


def load_metrics(clone):
    path = os.path.join(clone, "babilong", "metrics.py")
    if not os.path.isfile(path):
        sys.exit(f"{path} not found: --reference must be a clone of booydar/babilong")
    spec = importlib.util.spec_from_file_location("babilong_reference_metrics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", required=True, help="clone of booydar/babilong")
    args = ap.parse_args()
    m = load_metrics(args.reference)
    try:
        commit = subprocess.run(["git", "-C", args.reference, "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cases = []
    for task, target, question, outputs in CASES:
        for output in outputs:
            cases.append({"task": task, "target": target, "output": output, "question": question,
                          "correct": bool(m.compare_answers(target, output, question,
                                                            m.TASK_LABELS[task]))})
    fixture = {
        "source": "booydar/babilong babilong/metrics.py compare_answers (run, not copied)",
        "commit": commit,
        "labels": m.TASK_LABELS,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases, "
          f"{sum(c['correct'] for c in cases)} correct per the reference")


if __name__ == "__main__":
    main()
