"""opa-count: the OPA side of bench/compare.sh.

    python opa_count.py [-j WORKERS] [--query vowbench.violations] POLICY.rego DIR

Reads every request file under DIR (recursively: .yaml/.yml multi-document YAML, .json an object,
an array or a Kubernetes List, .ndjson/.jsonl one document a line: the files vow reads), parses
every document (PyYAML's C loader when it is built, as a Python user of YAML would), and
evaluates the policy once per document with that document as `input` (as conftest does), through
the real OPA engine (opa-golib-python-bindings: OPA's Go `rego` package in a c-shared library,
with a prepared query cached per engine). The query must give a set (or an array) of
violations, or be undefined for none. Prints one line: `documents=<n> violations=<n>`, the total
size of those sets.

Python threads would share one interpreter lock for the parsing, so the work is spread over
WORKERS processes (default: the number of cores), each with its own engine; files are handed
out one at a time. The processes are forked before any OPA library is loaded (a Go runtime does
not survive a fork).
"""

import json
import multiprocessing
import os
import re
import sys

import yaml


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader read as YAML 1.2's core schema, as vow's parser (yaml_serde) reads
    it: an unquoted date or time stays a string (not a datetime, which is not JSON), and only
    true/false are booleans (not yes/no/on/off)."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}

_engine = None
_query = None
_undefined = None


def list_files(root):
    out = []
    for dirpath, _, names in os.walk(root, followlinks=True):
        for n in names:
            if os.path.splitext(n)[1] in FORMATS:
                out.append(os.path.join(dirpath, n))
    return sorted(out)


def expand(value, out):
    """A parsed value as documents, as vow expands them: null (an empty document) gives nothing,
    a JSON array or a Kubernetes List gives its items."""
    if value is None:
        return
    if isinstance(value, list):
        out.extend(value)
    elif isinstance(value, dict) and value.get("kind") == "List" and isinstance(value.get("items"), list):
        out.extend(value["items"])
    else:
        out.append(value)


def read_documents(path):
    fmt = FORMATS[os.path.splitext(path)[1]]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    docs = []
    if fmt == "yaml":
        for v in yaml.load_all(text, Loader=Loader):
            expand(v, docs)
    elif fmt == "json":
        expand(json.loads(text), docs)
    else:
        for line in text.splitlines():
            if line.strip():
                expand(json.loads(line), docs)
    return docs


def init(policy_path, query):
    global _engine, _query, _undefined
    from opa_bindings import OpaEngine, OpaUndefinedError  # the Go library: only after the fork

    with open(policy_path, encoding="utf-8") as f:
        source = f.read()
    _engine = OpaEngine()
    _engine.add_policy(os.path.basename(policy_path), source)
    _query = query
    _undefined = OpaUndefinedError


def count_file(path):
    documents = violations = 0
    for doc in read_documents(path):
        documents += 1
        try:
            violations += len(_engine.eval_document(_query, doc))
        except _undefined:
            pass
    return documents, violations


def main(argv):
    workers = os.cpu_count() or 1
    query = "vowbench.violations"
    positional = []
    it = iter(argv)
    for a in it:
        if a == "-j":
            workers = int(next(it))
        elif a == "--query":
            query = next(it)
        else:
            positional.append(a)
    if len(positional) != 2:
        sys.exit("usage: opa_count.py [-j WORKERS] [--query PATH] POLICY.rego DIR")
    policy, root = positional
    files = list_files(root)
    workers = max(1, min(workers, len(files)))
    if workers == 1:
        init(policy, query)
        results = map(count_file, files)
        totals = [sum(c) for c in zip(*results)] or [0, 0]
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, initializer=init, initargs=(policy, query)) as pool:
            results = pool.imap_unordered(count_file, files, chunksize=1)
            totals = [sum(c) for c in zip(*results)] or [0, 0]
    print("documents={} violations={}".format(*totals))


if __name__ == "__main__":
    main(sys.argv[1:])
