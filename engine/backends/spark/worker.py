"""What runs on Spark's executors: `mapInArrow` functions over Arrow record batches.

Nothing compiled is shipped: each function gets the policy *text* (label and YAML, plain strings) and
compiles it once per Python worker process (a module-level cache keyed by the texts' hashes; Spark
reuses its Python workers, so a long job compiles once per executor core). The functions are
module-level, so Spark pickles them by name with their plain-data arguments, never a closure over a
compiled policy.

Every input row gets its line number in its file (`line`): the driver counts the rows of each (file,
scan partition) and hands the offsets in, a row's place in its partition comes from
monotonically_increasing_id. A line that is not a ticket becomes a row with its error record, exactly
as `slapolicy evaluate --jsonl` writes it, so one bad line never fails the job.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib

import pyarrow as pa

META = ("__file", "__pid", "__mid")  # columns the driver adds to every input row
TEXT = "__text"  # the JSON text of a ticket, when the input is JSON Lines (or a Parquet column of JSON)

EVALUATE_SCHEMA = pa.schema([("line", pa.int64()), ("ticket_id", pa.string()), ("error", pa.string()),
                             ("record", pa.string())])
EVALUATE_DDL = "line long, ticket_id string, error string, record string"
DIFF_SCHEMA = pa.schema([("kind", pa.string()), ("label", pa.string()), ("line", pa.int64()), ("tid", pa.string()),
                         ("seconds", pa.float64()), ("n", pa.int64())])
DIFF_DDL = "kind string, label string, line long, tid string, seconds double, n long"

_POLICIES: dict = {}  # key -> compiled object, per Python worker process


def _cached(kind, sources, build):
    key = (kind,) + tuple(hashlib.sha256(text.encode("utf-8")).hexdigest() for _, text in sources)
    hit = _POLICIES.get(key)
    if hit is None:
        hit = _POLICIES[key] = build()
    return hit


def policy_with_editions(sources):
    """api.Policy from [(label, text)], the current edition first (as api.load_policy builds it)."""
    from slapolicy.api import Policy, _compile_text

    def build():
        compiled = [_compile_text(text, label) for label, text in sources]
        return Policy(compiled[0], [(c.effective_from or "", c) for c in compiled])

    return _cached("policy", sources, build)


def compiled_pair(old_side, new_side):
    from slapolicy.api import _compile_text

    return _cached("pair", [old_side, new_side],
                   lambda: (_compile_text(old_side[1], old_side[0]), _compile_text(new_side[1], new_side[0])))


def _plain(value):
    """A Parquet / Arrow value as decoded JSON: nulls are missing fields, instants RFC 3339 text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _rows(batch, offsets):
    """(file, line, item) per row: item is the JSON text, or the ticket as a dict."""
    for row in batch.to_pylist():
        file, pid, mid = row.pop("__file"), row.pop("__pid"), row.pop("__mid")
        start, first = offsets[(file, pid)]
        line = start + (mid - first) + 1
        yield file, line, (row[TEXT] if TEXT in row else _plain(row))


def evaluate_batches(sources, options, offsets, batches):
    """mapInArrow: each input row -> (line, ticket id, error code, the JSON record `evaluate --jsonl` writes)."""
    from slapolicy.api import decide_line
    from slapolicy.decide.jsonio import dumps

    policy = policy_with_editions(sources)
    when = dt.datetime.fromisoformat(options["as_of"]) if options.get("as_of") else None
    explain, edition, why_not = options.get("explain", True), options.get("edition"), options.get("why_not", True)
    for batch in batches:
        out = {"line": [], "ticket_id": [], "error": [], "record": []}
        for _, line, item in _rows(batch, offsets):
            record, _ = decide_line(policy, item, line, "", when, explain, edition, False, why_not, True)  # as --jsonl
            tid = record.get("ticket") if "error" not in record else None
            error = record["error"]["code"] if "error" in record and "ticket" not in record else None
            out["line"].append(line)
            out["ticket_id"].append(None if tid is None else str(tid))
            out["error"].append(error)
            out["record"].append(dumps(record))
        yield pa.RecordBatch.from_pydict(out, schema=EVALUATE_SCHEMA)


def compare_batches(old_side, new_side, origin, as_of_iso, offsets, batches):
    """mapInArrow for `diff --engine spark`: compare() on every ticket, added up per partition here, so
    only the partial tallies leave the executor: per (kind, label, seconds) its count and first line
    (kind "g" / "l"), the first EXAMPLES lines of every label ("x"), the totals ("n": tickets,
    with_events, changed, errors) and the first ERROR_EXAMPLES bad lines ("e")."""
    from slapolicy.tools.diff.impact import ERROR_EXAMPLES, EXAMPLES, compare_line

    old, new = compiled_pair(old_side, new_side)
    as_of = dt.datetime.fromisoformat(as_of_iso)
    totals = {"tickets": 0, "with_events": 0, "changed": 0, "errors": 0}
    groups: dict = {}  # (kind, label, seconds) -> [count, first line]
    examples: dict = {}  # (kind, label) -> [(line, tid)] (the first EXAMPLES)
    errors: list = []
    for batch in batches:
        for file, line, item in _rows(batch, offsets):
            if isinstance(item, str) and not item.strip():
                continue  # blank lines are not tickets, and not errors (as the local engine)
            result = compare_line(old, new, origin or file, line, item, as_of)
            if result[0] == "e":
                totals["errors"] += 1
                if len(errors) < ERROR_EXAMPLES:
                    errors.append((line, result[1]))
                continue
            _, tid, has_events, rows = result
            totals["tickets"] += 1
            totals["with_events"] += has_events
            if rows:
                totals["changed"] += 1
            for kind, label, seconds in rows:
                g = groups.get((kind, label, seconds))
                if g is None:
                    g = groups[(kind, label, seconds)] = [0, line]
                g[0] += 1
                ex = examples.setdefault((kind, label), [])
                if len(ex) < EXAMPLES:
                    ex.append((line, None if tid is None else str(tid)))
    out = {name: [] for name in DIFF_SCHEMA.names}

    def put(kind, label, line=None, tid=None, seconds=None, n=None):
        for key, value in zip(DIFF_SCHEMA.names, (kind, label, line, tid, seconds, n)):
            out[key].append(value)

    for name, count in totals.items():
        put("n", name, n=count)
    for (kind, label, seconds), (count, first) in groups.items():
        put(kind, label, first, None, seconds, count)
    for (kind, label), lines in examples.items():
        for line, tid in lines:
            put("x", f"{kind}:{label}", line, tid)
    for line, message in errors:
        put("e", message, line)
    yield pa.RecordBatch.from_pydict(out, schema=DIFF_SCHEMA)
