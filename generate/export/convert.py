"""Converts Sigma rules into Lucene queries for Elastic with pySigma's Elasticsearch backend
and its ecs_windows pipeline, for `rulegen export --target elastic`. It reads rule paths from
its standard input, one a line (a feed's rules are more than a command line holds), and prints
JSON: {"<path>": {"queries": [...]} or {"error": "..."}}; without pySigma
it prints {"missing": "..."} and exits 3. rulegen writes everything around the queries."""
import json
import sys

try:
    from sigma.backends.elasticsearch import LuceneBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.elasticsearch.windows import ecs_windows
except ImportError as e:
    json.dump({"missing": str(e)}, sys.stdout)
    sys.exit(3)

out = {}
# One backend for all rules, as sigma-cli converts a collection.
backend = LuceneBackend(ecs_windows())
for path in sys.stdin.read().splitlines():
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        queries = backend.convert(SigmaCollection.from_yaml(text))
        out[path] = {"queries": [str(q) for q in queries]}
    except Exception as e:  # the backend's reason, reported with the rule
        out[path] = {"error": f"{type(e).__name__}: {e}"}
json.dump(out, sys.stdout)
