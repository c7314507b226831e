#!/usr/bin/env python3
"""Runs YARA-X (the official Python package `yara-x`, pinned with hashes in
testdata/pysigma/requirements.txt) for rulegen's tests and scan benchmark. Every command prints
one JSON document on stdout.

  yarax.py check RULES...                  errors and warnings, per file and of all together
  yarax.py scan RULES... -- TARGET...      the rules each target matches
  yarax.py bench CORPUS MB PASSES BASELINE RULES...
                                           scan cost in memory against a baseline ruleset

RULES are YARA source files or directories of them, compiled together into one namespace as a
rules repository is loaded. `make pysigma-deps` installs the package into testdata/pysigma/venv.
"""
import json
import os
import sys
import time

import yara_x


def expand(paths):
    """Rule files; a directory stands for the .yar files under it, in sorted order."""
    files = []
    for p in paths:
        if not os.path.isdir(p):
            files.append(p)
            continue
        for name in sorted(os.listdir(p)):
            f = os.path.join(p, name)
            if os.path.isdir(f) or f.endswith(".yar"):
                files.extend(expand([f]))
    return files


def read(paths):
    out = []
    for f in expand(paths):
        with open(f, encoding="utf-8") as fh:
            out.append((f, fh.read()))
    return out


def compiler_messages(sources):
    """Compiles sources in one compiler: its errors and warnings, as YARA-X words them."""
    c = yara_x.Compiler()
    for _, src in sources:
        try:
            c.add_source(src)
        except yara_x.CompileError:
            break  # the compiler's errors() holds it
    return c.errors(), c.warnings()


def message(file, m):
    return {"file": file, "code": m.get("code", ""), "message": m.get("title", "")}


def check(paths):
    """Compiles every file together, as a rules repository is loaded, which also finds what only
    a shared namespace shows (a rule name used twice). When that says anything, each file is
    compiled alone to say where it is."""
    sources = read(paths)
    out = {"files": len(sources), "errors": [], "warnings": []}
    errors, warnings = compiler_messages(sources)
    if not errors and not warnings:
        return out
    for f, src in sources:
        e, w = compiler_messages([(f, src)])
        out["errors"] += [message(f, m) for m in e]
        out["warnings"] += [message(f, m) for m in w]
    if not out["errors"] and not out["warnings"]:
        out["errors"] = [message("", m) for m in errors]
        out["warnings"] = [message("", m) for m in warnings]
    return out


def compile_rules(sources):
    c = yara_x.Compiler()
    for _, src in sources:
        c.add_source(src)
    return c.build()


def scan(args):
    if "--" not in args:
        raise SystemExit("usage: yarax.py scan RULES... -- TARGET...")
    split = args.index("--")
    scanner = yara_x.Scanner(compile_rules(read(args[:split])))
    scanner.max_matches_per_pattern(1)
    out = []
    for target in args[split + 1:]:
        with open(target, "rb") as fh:
            results = scanner.scan(fh.read())
        out.append({"target": target, "rules": sorted({r.identifier for r in results.matching_rules})})
    return out


def timed(scanner, buf):
    start = time.perf_counter_ns()
    scanner.scan(buf)
    return time.perf_counter_ns() - start


def bench(corpus_dir, mb, passes, baseline_file, *rule_files):
    """Scans every corpus file with the rules and with the baseline back to back, in alternating
    order, PASSES times, keeping each file's fastest time on each side: a shared machine only
    ever adds time. The ratio is of the sums of those minima."""
    corpus = load_corpus(corpus_dir, int(mb) << 20)
    baseline = yara_x.Scanner(compile_rules(read([baseline_file])))
    start = time.perf_counter()
    rules = yara_x.Scanner(compile_rules(read(list(rule_files))))
    compile_s = time.perf_counter() - start
    for buf in corpus:
        baseline.scan(buf)  # warm up
    with_rules = [float("inf")] * len(corpus)
    with_base = [float("inf")] * len(corpus)
    for p in range(int(passes)):
        for i, buf in enumerate(corpus):
            if (i + p) % 2 == 0:
                with_base[i] = min(with_base[i], timed(baseline, buf))
                with_rules[i] = min(with_rules[i], timed(rules, buf))
            else:
                with_rules[i] = min(with_rules[i], timed(rules, buf))
                with_base[i] = min(with_base[i], timed(baseline, buf))
    return {
        "files": len(corpus),
        "bytes": sum(len(b) for b in corpus),
        "compile_s": compile_s,
        "rules_s": sum(with_rules) / 1e9,
        "baseline_s": sum(with_base) / 1e9,
        "ratio": sum(with_rules) / sum(with_base) if corpus else 0,
    }


def load_corpus(root, limit):
    """Regular files under root in lexical walk order, as the Go benchmark reads them, leaving
    out files over 128 MiB, until limit bytes are held."""
    corpus, total = [], 0

    def walk(d):
        nonlocal total
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            if total >= limit:
                return
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path)
            elif entry.is_file(follow_symlinks=False):
                try:
                    if entry.stat().st_size > 128 << 20:
                        continue
                    with open(entry.path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue  # unreadable files are not part of the corpus
                corpus.append(data)
                total += len(data)

    walk(root)
    return corpus


def main(argv):
    if not argv:
        raise SystemExit("usage: yarax.py check|scan|bench ...")
    command, args = argv[0], argv[1:]
    if command == "check":
        return check(args)
    if command == "scan":
        return scan(args)
    if command == "bench":
        return bench(*args)
    raise SystemExit("usage: yarax.py check|scan|bench ... (got %r)" % command)


if __name__ == "__main__":
    try:
        json.dump(main(sys.argv[1:]), sys.stdout)
        sys.stdout.write("\n")
    except yara_x.CompileError as e:
        sys.stderr.write("yarax.py: %s\n" % e)
        sys.exit(2)
