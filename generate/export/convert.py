"""Converts Sigma rules into a SIEM's queries with a pySigma backend and processing pipeline,
for `rulegen export`: convert.py BACKEND [PIPELINE] (lucene ecs_windows, splunk splunk_windows).
It reads rule paths from its standard input, one a line (a feed's rules are more than a command
line holds), and prints JSON: {"<path>": {"queries": [...]} or {"error": "..."}}. Without pySigma
or the backend it prints {"missing": "..."} and exits 3. rulegen writes everything around the
queries."""
import json
import sys

try:
    from sigma.collection import SigmaCollection
    from sigma.plugins import InstalledSigmaPlugins
    from sigma.processing.resolver import ProcessingPipelineResolver
except ImportError as e:
    json.dump({"missing": str(e)}, sys.stdout)
    sys.exit(3)

plugins = InstalledSigmaPlugins.autodiscover()
name, pipelines = sys.argv[1], sys.argv[2:]
if name not in plugins.backends:
    json.dump({"missing": f"no pySigma backend {name}"}, sys.stdout)
    sys.exit(3)
try:
    pipeline = ProcessingPipelineResolver(plugins.pipelines).resolve(pipelines) if pipelines else None
except Exception as e:
    json.dump({"missing": f"pipeline {' '.join(pipelines)}: {e}"}, sys.stdout)
    sys.exit(3)
# One backend for all rules, as sigma-cli converts a collection.
backend = plugins.backends[name](pipeline)
out = {}
for path in filter(None, sys.stdin.read().splitlines()):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        queries = backend.convert(SigmaCollection.from_yaml(text))
        out[path] = {"queries": [str(q) for q in queries]}
    except Exception as e:  # the backend's reason, reported with the rule
        out[path] = {"error": f"{type(e).__name__}: {e}"}
json.dump(out, sys.stdout)
