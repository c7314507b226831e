#!/usr/bin/env python3
"""rulegen's Sigma rules through the Sigma ecosystem's own tools, offline.

A test oracle, run by the Go tests (generate/internal/pysigma) with the virtual environment that
`make pysigma-deps` installs from requirements.txt. pySigma and its SigmaHQ validators fetch
MITRE ATT&CK, D3FEND and SigmaHQ's taxonomy from the network unless told otherwise; here they
read the data rulegen embeds and the copies in data/ (see data/SOURCES.md), every socket is
refused, and missing data is an error, never a silent skip.

    harness.py sigma ARGS...                  sigma-cli itself (e.g. check -c sigma-check.yml DIR)
    harness.py convert RULES_DIR              JSON: each target's verdict on each rule
    harness.py ecs EVENTS...                  JSON: each sysmon and flat event case as an ECS
                                              document (ecs_windows' field names beside its own)
    harness.py evaluate RULES_DIR EVENTS...   JSON: the rules pySigma's sqlite backend fires on
                                              each sysmon and flat event case
    harness.py yara RULES_DIR                 JSON: yara-python's (libyara 4.5) errors and
                                              warnings on each .yar file and on all together
    harness.py yara-scan RULES... -- TARGET...
                                              JSON: the rules yara-python matches in each target
    harness.py iocs FILE...                   JSON: the hashes, domains, addresses and URLs
                                              ioc-finder finds in each file (a recall oracle)
"""

import csv
import json
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DATA = HERE / "data"
ATTACK_TECHNIQUES = REPO / "generate" / "normalize" / "attackdata" / "attack-techniques.tsv"

# The targets a SIEM receives rulegen's rules through: (name, backend, pipelines).
TARGETS = [
    ("splunk (splunk_windows)", "splunk", ["splunk_windows"]),
    ("splunk CIM (splunk_cim)", "splunk", ["splunk_cim"]),
    ("lucene (ecs_windows)", "lucene", ["ecs_windows"]),
    ("eql (ecs_windows)", "eql", ["ecs_windows"]),
    ("esql (ecs_windows)", "esql", ["ecs_windows"]),
    ("kusto, Sentinel ASIM (sentinel_asim)", "kusto", ["sentinel_asim"]),
    # What export --target sentinel runs: sentinel_asim with rulegen's tables for DNS and firewall logs.
    ("kusto, Sentinel ASIM + rulegen's tables (export)", "kusto",
     ["sentinel_asim", str(REPO / "generate" / "export" / "sentinel_asim.yml")]),
    ("kusto, Defender XDR (microsoft_xdr)", "kusto", ["microsoft_xdr"]),
    ("sqlite", "sqlite", []),
    ("victoria_logs (LogsQL, values lower-cased)", "victoria_logs", [str(REPO / "examples" / "victorialogs-lowercase.yml")]),
]


class OfflineError(RuntimeError):
    pass


def refuse_network():
    """Every connection fails loudly: the oracle must not depend on what the network serves."""

    def refuse(self, address, *args, **kwargs):
        raise OfflineError(f"harness.py runs offline: refused a connection to {address!r}")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = lambda address, *a, **k: refuse(None, address)


def need(path):
    if not path.is_file():
        raise OfflineError(f"offline data missing: {path} (see {DATA / 'SOURCES.md'})")
    return path


def attack_bundle(out):
    """A STIX bundle of the ATT&CK techniques and tactics rulegen embeds, in the shape pySigma's
    loader reads (tactics are matched by their short names, so their ids are the names)."""
    objects = [{"type": "x-mitre-collection", "x_mitre_version": "rulegen attack-techniques.tsv"}]
    tactics = set()
    with open(need(ATTACK_TECHNIQUES), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            phases = [t for t in row["tactics"].split(",") if t]
            tactics.update(phases)
            objects.append({
                "type": "attack-pattern",
                "name": row["name"],
                "external_references": [{"source_name": "mitre-attack", "external_id": row["id"]}],
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": p} for p in phases],
            })
    if len(objects) < 100:
        raise OfflineError(f"{ATTACK_TECHNIQUES}: only {len(objects) - 1} techniques")
    for t in sorted(tactics):
        objects.append({
            "type": "x-mitre-tactic",
            "x_mitre_shortname": t,
            "external_references": [{"source_name": "mitre-attack", "external_id": t}],
        })
    out.write_text(json.dumps({"type": "bundle", "objects": objects}))
    return out


def d3fend_ontology(out):
    """D3FEND's seven tactics: rulegen writes no d3fend tag, so only the vocabulary matters."""
    tactics = ["Model", "Harden", "Detect", "Isolate", "Deceive", "Evict", "Restore"]
    graph = [{"@type": "owl:Ontology", "owl:versionIRI": "rulegen/d3fend-tactics"}]
    graph += [{"@type": ["owl:Class", "d3f:DefensiveTactic"], "rdfs:label": t} for t in tactics]
    out.write_text(json.dumps({"@graph": graph}))
    return out


def logsource_key(product, category, service):
    return {"product": product or None, "category": category or None, "service": service or None,
            "definition": None}


def sigmahq_filename(out):
    """SigmaHQ's file name prefixes, from data/sigmahq_filename_prefix.tsv."""
    pattern = {}
    with open(need(DATA / "sigmahq_filename_prefix.tsv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = "_".join(row[k] or "none" for k in ("product", "category", "service"))
            pattern[key] = {"logsource": logsource_key(row["product"], row["category"], row["service"]),
                            "prefix": row["prefix"]}
    out.write_text(json.dumps({"version": "20240809", "pattern": pattern}))
    return out


def sigmahq_taxonomy(out):
    """SigmaHQ's field names per log source, from its tests/logsource.json (data/): the same
    lists its taxonomy file is made of."""
    src = json.loads(need(DATA / "sigmahq_logsource.json").read_text(encoding="utf-8"))
    taxonomy = {}

    def add(product, category, service, fields):
        key = f"{product}_{category or 'none'}_{service or 'none'}"
        entry = taxonomy.setdefault(key, {"logsource": logsource_key(product, category, service),
                                          "field": {"native": [], "custom": [], "redundant": []}})
        entry["field"]["native"] += [f for f in fields if f not in entry["field"]["native"]]

    for part in ("legit", "addon"):
        for product, kinds in src.get(part, {}).items():
            product = None if product == "empty" else product
            common = kinds.get("common", []) if isinstance(kinds, dict) else []
            for kind in ("category", "service"):
                for name, fields in (kinds.get(kind) or {}).items():
                    add(product, name if kind == "category" else None,
                        name if kind == "service" else None, common + fields)
    if not taxonomy:
        raise OfflineError(f"{DATA / 'sigmahq_logsource.json'}: no log source")
    out.write_text(json.dumps({"version": src.get("version", "unknown"), "taxonomy": taxonomy}))
    return out


def offline(cache):
    """Points every pySigma data loader at local files and a private cache."""
    refuse_network()
    from sigma.data import mitre_attack, mitre_d3fend
    from sigma.validators.sigmahq.data import (data_filename, data_taxonomy,
                                               data_windows_eventid, data_windows_provider)

    sources = [
        (mitre_attack, attack_bundle(cache / "attack.json")),
        (mitre_d3fend, d3fend_ontology(cache / "d3fend.json")),
        (data_filename, sigmahq_filename(cache / "sigmahq_filename.json")),
        (data_taxonomy, sigmahq_taxonomy(cache / "sigmahq_taxonomy.json")),
        (data_windows_eventid, need(DATA / "sigmahq_windows_eventid.json")),
        (data_windows_provider, need(DATA / "sigmahq_windows_provider.json")),
    ]
    for module, path in sources:
        module.set_cache_dir(str(cache / module.__name__))
        module.set_url(str(path))


def load_rules(rules_dir):
    """Each rule file's name (its path below rules_dir, without .yml) and text. A conversion
    parses the text afresh: processing pipelines change the rules they process."""
    paths = sorted(Path(rules_dir).rglob("*.yml"))
    return [(p.relative_to(rules_dir).with_suffix("").as_posix(), p.read_text(encoding="utf-8")) for p in paths]


def parse(text):
    from sigma.collection import SigmaCollection

    return SigmaCollection.from_yaml(text)


def backend_for(plugins, backend, pipelines):
    from sigma.processing.resolver import ProcessingPipelineResolver

    resolver = ProcessingPipelineResolver(plugins.pipelines)
    return plugins.backends[backend](resolver.resolve(pipelines) if pipelines else None)


def convert(rules_dir):
    """Each target's verdict on each rule: its query, or the error pySigma gives."""
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    rules = load_rules(rules_dir)
    results = []
    for name, backend, pipelines in TARGETS:
        for rule, text in rules:
            verdict = {"target": name, "backend": backend, "rule": rule}
            try:
                queries = backend_for(plugins, backend, pipelines).convert(parse(text))
                verdict["queries"] = [str(q) for q in queries]
            except Exception as e:  # every error is reported with its class, for the Go test to judge
                verdict["error"] = f"{type(e).__name__}: {e}"
            results.append(verdict)
    json.dump(results, sys.stdout, indent=1)


def read_cases(paths):
    cases = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                case = json.loads(line)
                if case["format"] in ("sysmon", "flat"):
                    cases.append({"file": Path(path).name, "line": line_no, "event": case["event"]})
    return cases


def evaluate(rules_dir, event_files):
    """The rules each event fires when pySigma's sqlite backend's query runs over it: a second
    evaluator beside sigma-go. Like sigma-go here, a rule's log source is not a condition."""
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    cases = read_cases(event_files)
    queries, fields = {}, set()
    for rule, text in load_rules(rules_dir):
        collection = parse(text)
        fields |= rule_fields(collection)
        [query] = plugins.backends["sqlite"]().convert(collection)
        queries[rule] = query
    # A column per field an event has or a rule compares (NULL where the event has none);
    # SQLite's column names ignore case.
    columns = sorted({k for c in cases for k in c["event"]} | fields, key=str.lower)
    columns = list({c.lower(): c for c in columns}.values())
    db = sqlite3.connect(":memory:")
    # Sigma compares strings case-insensitively; the backend writes = for exact values, which
    # SQLite compares case-sensitively unless the column collates NOCASE, as a log table for
    # these queries must.
    db.execute("CREATE TABLE logs (case_no, %s)" % ", ".join(quote(c) + " COLLATE NOCASE" for c in columns))
    for i, c in enumerate(cases):
        names = ["case_no"] + [quote(k) for k in c["event"]]
        db.execute("INSERT INTO logs (%s) VALUES (%s)" % (", ".join(names), ", ".join("?" * len(names))),
                   [i] + [scalar(v) for v in c["event"].values()])
    fired = {i: [] for i in range(len(cases))}
    for rule, query in sorted(queries.items()):
        sql = query.replace("<TABLE_NAME>", "logs").replace("SELECT *", "SELECT case_no", 1)
        for (case_no,) in db.execute(sql):
            fired[case_no].append(rule)
    json.dump([{"file": c["file"], "line": c["line"], "fires": fired[i], "query_count": len(queries)}
               for i, c in enumerate(cases)], sys.stdout, indent=1)


# The Sigma category of each Sysmon event the generated rules read.
SYSMON_CATEGORIES = {1: "process_creation", 3: "network_connection", 11: "file_event", 13: "registry_set", 22: "dns_query"}


def ecs_fields(plugins, category, field, cache={}):
    """The field names the ecs_windows pipeline gives a Sysmon field in a Windows rule of the
    category: what a converted Lucene query asks of an ECS index."""
    from sigma.processing.resolver import ProcessingPipelineResolver

    key = (category, field)
    if key not in cache:
        rule = {"title": "ecs", "logsource": {"product": "windows", "category": category},
                "detection": {"sel": {field: "x"}, "condition": "sel"}}
        collection = parse(json.dumps(rule))  # JSON is YAML
        ProcessingPipelineResolver(plugins.pipelines).resolve(["ecs_windows"]).apply(collection.rules[0])
        names = []

        def walk(detection):
            for item in getattr(detection, "detection_items", []):
                if getattr(item, "field", None):
                    names.append(item.field)
                walk(item)

        for detection in collection.rules[0].detection.detections.values():
            walk(detection)
        cache[key] = names
    return cache[key]


def ecs(event_files):
    """Each sysmon and flat event case as an ECS document: its fields as they are (what rules of
    other products and of no product ask), and each Sysmon field also under the names the
    ecs_windows pipeline maps it to for the event's category."""
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    docs = []
    for c in read_cases(event_files):
        doc = dict(c["event"])
        category = SYSMON_CATEGORIES.get(int(c["event"].get("EventID", 0) or 0))
        if category:
            for field, value in c["event"].items():
                for name in ecs_fields(plugins, category, field):
                    doc[name] = value
        docs.append({"file": c["file"], "line": c["line"], "doc": doc})
    json.dump(docs, sys.stdout, indent=1)


def rule_fields(collection):
    """The field names a collection's detections compare."""
    from sigma.rule import SigmaDetection

    def walk(detection):
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                yield from walk(item)
            elif item.field:
                yield item.field

    return {f for rule in collection.rules for d in rule.detection.detections.values() for f in walk(d)}


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def scalar(v):
    return json.dumps(v) if isinstance(v, (dict, list)) else v


def compile_yara(rules_dir):
    """Each .yar file compiled alone, then all of them as one namespace (as rulegen test does),
    by the libyara yara-python carries; warnings are collected, not fatal, so all are seen."""
    import yara

    paths = sorted(Path(rules_dir).rglob("*.yar"))
    messages = []

    def compile_one(name, **source):
        try:
            rules = yara.compile(**source)
        except yara.Error as e:
            messages.append({"file": name, "kind": "error", "message": str(e)})
            return
        messages.extend({"file": name, "kind": "warning", "message": w} for w in rules.warnings)

    for p in paths:
        compile_one(p.relative_to(rules_dir).as_posix(), filepath=str(p))
    if paths:
        together = "".join('include "%s"\n' % str(p).replace("\\", "\\\\").replace('"', '\\"') for p in paths)
        compile_one("", source=together, includes=True)
    json.dump({"version": yara.YARA_VERSION, "files": len(paths), "messages": messages}, sys.stdout, indent=1)


def scan_yara(args):
    """The rule files compiled together, as a rules repository is loaded, and the sorted names
    of the rules each target matches, by yara-python's libyara 4.5."""
    import yara

    split = args.index("--")
    rules = yara.compile(filepaths={"f%d" % i: p for i, p in enumerate(args[:split])})
    out = {}
    for target in args[split + 1:]:
        out[target] = sorted({m.rule for m in rules.match(target)})
    json.dump(out, sys.stdout, indent=1)


def page_text(markup):
    """A web page's text as its reader sees it: its elements' text, a line per block, without its
    markup, scripts and styles (ioc-finder reads text, and finds markup glued to values)."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts, self.hidden = [], 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.hidden += 1
            elif tag not in ("a", "b", "i", "em", "strong", "code", "span", "time", "small", "sup", "sub"):
                self.parts.append("\n")

        def handle_endtag(self, tag):
            if tag in ("script", "style"):
                self.hidden = max(self.hidden - 1, 0)
            else:
                self.parts.append("\n" if tag not in ("a", "b", "i", "em", "strong", "code", "span", "time") else "")

        def handle_data(self, data):
            if not self.hidden:
                self.parts.append(data)

    parser = Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def find_iocs(paths):
    """What ioc-finder, an IOC extractor, finds in each file (a web page's text): the recall
    rulegen's readers are held to."""
    from ioc_finder import find_iocs as finder

    kinds = ("md5s", "sha1s", "sha256s", "domains", "ipv4s", "urls")
    out = {}
    for p in paths:
        text = Path(p).read_text(encoding="utf-8", errors="replace")
        if Path(p).suffix.lower() in (".html", ".htm", ".xhtml"):
            text = page_text(text)
        found = finder(text)
        out[p] = {k: sorted(set(found.get(k, []))) for k in kinds}
    json.dump(out, sys.stdout, indent=1)


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rulegen-pysigma-") as tmp:
        offline(Path(tmp))
        command, args = argv[0], argv[1:]
        if command == "sigma":
            from sigma.cli.main import main as sigma_cli
            sys.argv = ["sigma"] + args
            sigma_cli()  # exits with sigma-cli's own status
            return 0
        if command == "convert" and len(args) == 1:
            convert(args[0])
            return 0
        if command == "yara" and len(args) == 1:
            compile_yara(args[0])
            return 0
        if command == "iocs" and args:
            find_iocs(args)
            return 0
        if command == "yara-scan" and "--" in args:
            scan_yara(args)
            return 0
        if command == "ecs" and args:
            ecs(args)
            return 0
        if command == "evaluate" and len(args) >= 2:
            evaluate(args[0], args[1:])
            return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
