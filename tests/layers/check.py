#!/usr/bin/env python3
"""The source layers' rules, read from the sources themselves.

Each folder under src/ is a layer (README.md, "Layout").  A file may include
headers of its own layer, of the layers below it, and the shared facts under
include/; never a header of a layer above, and no two files may need each
other (an include cycle between headers, or a .c file whose header includes,
directly or not, a header that declares what that .c file calls back).
With --incremental, the build is asked (make -n -W, which touches
nothing) what it would recompile after one file changes: exactly the
sources that include it, directly or not, and no other.
The same rules are checked on what the compiler made of the sources
(--objects build/obj): which object's undefined symbols another defines.
Prints "layers: N passed, N failed".
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bottom up, as the Makefile's LAYERS
LAYERS = ["core", "sinks", "policy", "pipeline", "linux"]
# what each layer may include besides itself (the BPF side has its own rules)
ALLOWED = {
    "core": set(),
    "sinks": {"core"},
    "policy": {"core"},
    "pipeline": {"core", "sinks", "policy"},
    "linux": {"core", "sinks", "policy", "pipeline"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for layer in LAYERS:
        d = os.path.join(ROOT, "src", layer)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                yield layer, "%s/%s" % (layer, name)


def includes(rel):
    with open(os.path.join(ROOT, "src", rel), encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


def check_layers(failures):
    for layer, rel in sources():
        for inc in includes(rel):
            if "/" not in inc:
                if not os.path.exists(os.path.join(ROOT, "include", inc)) and \
                        inc != "ksysmon.skel.h":
                    failures.append("%s: includes \"%s\" without its layer" % (rel, inc))
                continue
            target = inc.split("/")[0]
            if target == layer:
                continue
            if target not in ALLOWED[layer]:
                failures.append("%s (layer %s) includes %s" % (rel, layer, inc))


def check_cycles(failures):
    """No include cycle among headers, and no pair of .c files that call
    each other (a.c includes b.h while b.c includes a.h)."""
    graph = {rel: [i for i in includes(rel) if "/" in i] for _, rel in sources()}
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                failures.append("include cycle: " + " -> ".join(stack + [node, nxt]))
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    for rel, incs in graph.items():
        if not rel.endswith(".c"):
            continue
        own = rel[:-2] + ".h"
        for inc in incs:
            other_c = inc[:-2] + ".c"
            if inc != own and other_c in graph and own in graph[other_c]:
                if rel < other_c:
                    failures.append("%s and %s need each other" % (rel, other_c))


def symbols(path):
    """(defined, undefined) global symbol names of one object file."""
    out = subprocess.run(["nm", "-P", path], check=True, capture_output=True,
                         text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def object_graph(objdir):
    """{layer/name: set of layer/name whose symbols it uses}"""
    defs, undefs = {}, {}
    for layer in LAYERS:
        d = os.path.join(objdir, layer)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            # an object whose source is gone is left from an older tree
            src = os.path.join(ROOT, "src", layer, name[:-2] + ".c")
            if name.endswith(".o") and os.path.exists(src):
                key = "%s/%s" % (layer, name[:-2])
                defs[key], undefs[key] = symbols(os.path.join(d, name))
    owner = {sym: key for key, names in defs.items() for sym in names}
    return {key: {owner[s] for s in names if s in owner and owner[s] != key}
            for key, names in undefs.items()}


def check_objects(objdir):
    def check(failures):
        graph = object_graph(objdir)
        if not graph:
            failures.append("no objects under %s" % objdir)
        for key, needs in sorted(graph.items()):
            layer = key.split("/")[0]
            for other in sorted(needs):
                olayer = other.split("/")[0]
                if olayer != layer and olayer not in ALLOWED[layer]:
                    failures.append("%s.o (layer %s) calls into %s.o" % (key, layer, other))
                if key < other and key in graph.get(other, ()):
                    failures.append("%s.o and %s.o call each other" % (key, other))
    return check


def includers(header):
    """The sources that include header (layer/name.h), directly or not."""
    graph = {rel: [i for i in includes(rel) if "/" in i] for _, rel in sources()}
    found, todo = set(), [header]
    while todo:
        h = todo.pop()
        for rel, incs in graph.items():
            if h in incs and rel not in found:
                found.add(rel)
                todo.append(rel)
    return {rel for rel in found if rel.endswith(".c")}


def recompiled(changed):
    """The sources make would compile for build/ksysmon if changed changed."""
    out = subprocess.run(["make", "--no-print-directory", "-n", "-W", "src/" + changed,
                          "build/ksysmon"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return set(re.findall(r" -c src/(\S+\.c) ", out))


def check_incremental(failures):
    cases = [rel for _, rel in sources()]
    for rel in cases:
        want = {rel} if rel.endswith(".c") else includers(rel)
        got = recompiled(rel)
        if got != want:
            failures.append("touching %s rebuilds %s, not %s" %
                            (rel, sorted(got), sorted(want)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", help="also check the objects under this folder (build/obj)")
    ap.add_argument("--incremental", action="store_true",
                    help="also check what the build recompiles after each file changes")
    args = ap.parse_args()
    checks = [check_layers, check_cycles]
    if args.incremental:
        checks.append(check_incremental)
    if args.objects:
        checks.append(check_objects(args.objects))
    failed = 0
    for check in checks:
        failures = []
        check(failures)
        for f in failures:
            print("layers: " + f)
        failed += bool(failures)
    print("layers: %d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
