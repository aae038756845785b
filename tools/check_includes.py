#!/usr/bin/env python3
"""Fails (exit 1) when the project's folders include each other in a cycle.

A folder is engine/<name> for engine code and the top-level folder otherwise (harness, ruler,
babilong, bench). An edge A -> B means a library source of A includes a header of B with
`#include "B/..."`. Test code sits above every layer and is left out: *_test.cc, *_testing.h,
engine/common/testing.*, tests/. Prints the folder graph with -v; --root DIR checks another tree
(the self-test).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if "--root" in sys.argv:
    ROOT = pathlib.Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
SOURCES = (".cc", ".h", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
TOP = ("engine", "harness", "ruler", "babilong", "bench")


def folder(rel: str):
    parts = rel.split("/")
    if parts[0] not in TOP:
        return None
    if parts[0] == "engine":
        return "/".join(parts[:2]) if len(parts) > 2 else None
    return parts[0]


def is_test(path: pathlib.Path) -> bool:
    n = path.name
    return (n.endswith("_test.cc") or n.endswith("_testing.h") or n.startswith("testing.")
            or "fuzz" in path.parts)


def graph():
    edges = {}
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if path.suffix not in SOURCES or rel.startswith(("build", "tests/", ".")) or is_test(path):
            continue
        src = folder(rel)
        if src is None:
            continue
        for inc in INCLUDE.findall(path.read_text(errors="replace")):
            dst = folder(inc)
            if dst is not None and dst != src:
                edges.setdefault(src, {}).setdefault(dst, []).append(f"{rel} -> {inc}")
    return edges


def find_cycle(edges):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, {})):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def main():
    edges = graph()
    if "-v" in sys.argv:
        for a in sorted(edges):
            print(f"{a} -> {', '.join(sorted(edges[a]))}")
    cycle = find_cycle(edges)
    if cycle:
        print("check_includes: include cycle between folders: " + " -> ".join(cycle),
              file=sys.stderr)
        for a, b in zip(cycle, cycle[1:]):
            print(f"  {edges[a][b][0]}", file=sys.stderr)
        return 1
    print(f"check_includes: {len(edges)} folders, no include cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
