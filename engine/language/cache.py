"""The compile cache: a checked policy kept as plain JSON by content hash, so that a start skips YAML,
the policy schema (jsonschema), the expression parser (lark) and the checker.

An entry holds the policy data (as loaded) and every checked expression tree with its name resolution
(`resolved`, `defs_used`) and the position of its text in the file (the span and style of the YAML scalar,
which is all an explanation's `why_not` spans are mapped from: an explained decision needs no second
check), in JSON: nothing is unpickled, nothing is executed when it is read. The
closures and the generated code are rebuilt from those trees (slapolicy.language.compile), exactly as
after a check. The key is the SHA-256 of the slapolicy version, the file name and the text, so an edit
or an upgrade misses. A corrupted or foreign entry is ignored (and rewritten).

The holidays a policy's calendars need are kept beside the entries, one file per country, keyed by the
`holidays` package's version (`holiday_store()`, slapolicy.calendar.holistore): the calendars of a
cached policy, and those of the check that fills its entry, take them from there, so a warm start does
not import the package; the entry's store also fills the years around today.

Entries do not pile up: an entry read is marked used (its modification time set to now, at most once a
day), and each entry written prunes the directory of entries unused for MAX_AGE_DAYS (30) and of temporary
files left by a writer that died (older than an hour): every edit of a policy, every upgrade, leaves an
entry behind that no start will read again.

Where: the user cache directory (slapolicy.cachedir.directory: $SLAPOLICY_CACHE_DIR, else
$XDG_CACHE_HOME/slapolicy, else ~/.cache/slapolicy; a directory only the user can write).
SLAPOLICY_NO_CACHE=1 turns it off.
"""
from __future__ import annotations

import datetime as dt
import json
import os

from slapolicy.cachedir import STALE_WRITE_SECONDS, directory  # noqa: F401  (the user cache directory: owned there)
from slapolicy.language import ast

FORMAT = 2  # 2: each expression's scalar span and style
MAX_AGE_DAYS = 30  # an entry no start has read for this long is removed when another is written
_DAY = 86400
_NODES = {cls.__name__: cls for cls in (ast.Literal, ast.Path, ast.ListExpr, ast.Not, ast.BoolOp, ast.Compare,
                                        ast.Membership, ast.Arith, ast.Call, ast.Quantifier)}


def _version() -> str:
    """the slapolicy version, and the size and time of the language modules and the grammar (a checkout
    whose checker changed without a new version misses too); importlib.metadata costs a start 60+ ms"""
    here = os.path.dirname(os.path.abspath(__file__))
    found = "unknown"
    try:  # the package root holds __version__ (read, not imported: the root is the public face)
        with open(os.path.join(os.path.dirname(here), "__init__.py"), encoding="utf-8") as f:
            for line in f:  # (not a regular expression: compiling one costs every start)
                name, eq, value = line.partition("=")
                if eq and name.strip() == "__version__" and not line[0].isspace():
                    found = value.strip().strip("'\"") or found
                    break
    except OSError:
        pass
    stamp = [found]
    for folder in (here, os.path.join(os.path.dirname(os.path.dirname(here)), "grammar")):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.endswith((".py", ".lark", ".json")):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                stamp.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(stamp)


_stores: dict = {}


def holiday_store():
    """the HolidayStore of the cache directory (one per directory and process), or None when the cache is off"""
    base = directory()
    if base is None:
        return None
    got = _stores.get(base)
    if got is None:
        from slapolicy.calendar.holistore import HolidayStore

        got = _stores.setdefault(base, HolidayStore(base))
    return got


def _fill_holidays(checked) -> None:
    """the stored holidays of the checked policy's countries, for the years around today (last year to next)"""
    source = holiday_store()
    if source is None:
        return
    year = dt.date.today().year
    for country in sorted({c.country for c in (checked.calendars or {}).values() if c.country is not None}):
        try:
            source.fill(country, range(year - 1, year + 2))
        except Exception:  # noqa: BLE001 - a year the package cannot give is computed (and fails) when asked for
            continue


def key(text_sha: str, file: str) -> str:
    """the entry's name: SHA-256 of the stamp, the file name and the text's own SHA-256 (`text_sha`: the
    load computed it, slapolicy.language.digest.text_digest)"""
    from slapolicy.language.digest import sha256_hex

    return sha256_hex(b"".join(part.encode("utf-8", "surrogatepass") + b"\0"
                               for part in (f"slapolicy {_version()} cache {FORMAT}", file, text_sha)))


# -- trees as JSON -----------------------------------------------------------------------------
def _value(v):
    if isinstance(v, ast.Duration):
        return {"$duration": [v.months, v.seconds, v.text]}
    if isinstance(v, dt.datetime):
        return {"$timestamp": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$date": v.isoformat()}
    return v


def _unvalue(v):
    if isinstance(v, dict):
        if "$duration" in v:
            months, seconds, text = v["$duration"]
            return ast.Duration(months=months, seconds=seconds, text=text)
        if "$timestamp" in v:
            return dt.datetime.fromisoformat(v["$timestamp"])
        if "$date" in v:
            return dt.date.fromisoformat(v["$date"])
    return v


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def dump_tree(node, resolved: dict):
    """an expression tree as JSON-able data (iterative: no recursion limit on deep trees)"""
    def enc(n):
        out = {"k": type(n).__name__, "pos": list(n.pos)}
        if isinstance(n, ast.Literal):
            out.update(value=_value(n.value), type=n.type)
        elif isinstance(n, ast.Path):
            out["parts"] = list(n.parts)
            if id(n) in resolved:
                out["r"] = resolved[id(n)]
        elif isinstance(n, ast.ListExpr):
            out["items"] = [enc(i) for i in n.items]
        elif isinstance(n, ast.Not):
            out["operand"] = enc(n.operand)
        elif isinstance(n, ast.BoolOp):
            out.update(op=n.op, operands=[enc(o) for o in n.operands])
        elif isinstance(n, (ast.Compare, ast.Arith)):
            out.update(op=n.op, left=enc(n.left), right=enc(n.right))
        elif isinstance(n, ast.Membership):
            out.update(negated=n.negated, item=enc(n.item), container=enc(n.container))
        elif isinstance(n, ast.Call):
            out.update(name=n.name, args=[enc(a) for a in n.args])
        elif isinstance(n, ast.Quantifier):
            out.update(kind=n.kind, var=n.var, source=enc(n.source), cond=enc(n.cond))
        else:
            raise TypeError(type(n).__name__)
        return out
    return enc(node)


def load_tree(data, resolved: dict):
    def dec(d):
        kind, pos = d["k"], tuple(d["pos"])
        if kind == "Literal":
            return ast.Literal(pos, _unvalue(d["value"]), d["type"])
        if kind == "Path":
            node = ast.Path(pos, tuple(d["parts"]))
            if "r" in d:
                resolved[id(node)] = _tuples(d["r"])
            return node
        if kind == "ListExpr":
            return ast.ListExpr(pos, tuple(dec(i) for i in d["items"]))
        if kind == "Not":
            return ast.Not(pos, dec(d["operand"]))
        if kind == "BoolOp":
            return ast.BoolOp(pos, d["op"], tuple(dec(o) for o in d["operands"]))
        if kind in ("Compare", "Arith"):
            return _NODES[kind](pos, d["op"], dec(d["left"]), dec(d["right"]))
        if kind == "Membership":
            return ast.Membership(pos, d["negated"], dec(d["item"]), dec(d["container"]))
        if kind == "Call":
            return ast.Call(pos, d["name"], tuple(dec(a) for a in d["args"]))
        if kind == "Quantifier":
            return ast.Quantifier(pos, d["kind"], d["var"], dec(d["source"]), dec(d["cond"]))
        raise ValueError(kind)
    return dec(data)


def _at(info):
    """a scalar's ScalarInfo as JSON: [line, col, end_line, end_col, style] (the file is the entry's)"""
    if info is None:
        return None
    s = info.span
    return [s.line, s.col, s.end_line, s.end_col, info.style]


def _json_default(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def store(text_sha: str, file: str, checked) -> None:
    """write the entry of a checked policy, of the text whose SHA-256 is `text_sha` (no error if the cache is off
    or unwritable)"""
    base = directory()
    if base is None:
        return
    try:
        spans = checked.loaded.spans
        exprs = [{"path": list(path), "stage": e.stage, "defs_used": sorted(e.defs_used),
                  "tree": dump_tree(e.tree, e.resolved), "at": _at(spans.get(path))}
                 for path, e in checked.exprs.items()]
        warnings = [{"code": d.code, "message": d.message, "severity": d.severity, "hint": d.hint,
                     "span": [d.span.file, d.span.line, d.span.col, d.span.end_line, d.span.end_col]}
                    for d in checked.diagnostics if d.severity != "error"]
        payload = json.dumps({"format": FORMAT, "data": checked.data, "exprs": exprs, "warnings": warnings},
                             ensure_ascii=False, default=_json_default, separators=(",", ":"))
        import tempfile  # (here: with shutil, bz2, lzma and random it costs a start that only reads ~3 ms)

        fd, tmp = tempfile.mkstemp(dir=base, prefix=".entry-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(payload)
        os.replace(tmp, os.path.join(base, key(text_sha, file) + ".json"))
    except (OSError, TypeError, ValueError, RecursionError):
        return
    prune(base)
    _fill_holidays(checked)


def prune(base: str, now: float | None = None) -> int:
    """remove the entries of `base` unused for MAX_AGE_DAYS (by their modification time: `fetch` renews it) and
    the temporary files of writes that never finished (older than an hour); the number removed"""
    import time

    now = time.time() if now is None else now
    removed = 0
    try:
        names = os.listdir(base)
    except OSError:
        return 0
    for name in names:
        if name.endswith(".json") and len(name) == 69:  # (an entry: 64 hex digits of its key)
            limit = now - MAX_AGE_DAYS * _DAY
        elif name.startswith(".entry-") and name.endswith(".tmp"):
            limit = now - STALE_WRITE_SECONDS
        else:  # (the stored holidays, the bytecode directory, anything else: not the compile cache's)
            continue
        path = os.path.join(base, name)
        try:
            if os.stat(path).st_mtime < limit:
                os.unlink(path)
                removed += 1
        except OSError:
            pass  # (gone already: another process pruned it)
    return removed


def fetch(text: str, file: str, text_sha: str):
    """the CheckedPolicy of a cached entry of `text` (whose SHA-256 is `text_sha`), or None (no entry, cache off,
    or an entry that does not read)"""
    base = directory()
    if base is None:
        return None
    path = os.path.join(base, key(text_sha, file) + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
            _used(f, path)
        return _checked(entry, text, file)
    except FileNotFoundError:
        return None
    except Exception:  # corrupted or from elsewhere: ignored, and rebuilt by the caller
        try:
            os.unlink(path)
        except OSError:
            pass
        return None


def _used(f, path: str) -> None:
    """mark an entry read (its modification time: now), when it was last marked more than a day ago: `prune`
    keeps what is used"""
    import time

    try:
        now = time.time()
        if now - os.fstat(f.fileno()).st_mtime > _DAY:
            os.utime(path, (now, now))
    except OSError:
        pass


def _checked(entry, text, file):
    from types import SimpleNamespace

    from slapolicy.calendar import Calendar, parse_target
    from slapolicy.language.diagnostics import Diagnostic
    from slapolicy.language.files import Loaded, ScalarInfo
    from slapolicy.language.source import Span

    if entry.get("format") != FORMAT:
        raise ValueError("format")
    data = entry["data"]
    loaded = Loaded(file, text, data)
    exprs = {}
    for e in entry["exprs"]:
        resolved = {}
        tree = load_tree(e["tree"], resolved)
        path = _tuples(e["path"])
        exprs[path] = SimpleNamespace(tree=tree, path=path, stage=e["stage"], resolved=resolved,
                                      defs_used=set(e["defs_used"]))  # what compile reads of a checker Expr
        at = e["at"]
        if at is not None:  # what expr_span reads to place a node of this tree in the file
            loaded.spans[path] = ScalarInfo(Span(file, at[0], at[1], at[2], at[3]), at[4])
    tz = data["timezone"]
    specs = {name: {k: v for k, v in spec.items() if k not in ("source", "assumptions", "description")}
             for name, spec in (data.get("calendars") or {}).items()}
    source = holiday_store() if any(spec.get("holidays") for spec in specs.values()) else None  # (a country's)
    calendars = {name: Calendar.from_spec(spec, default_timezone=tz, holiday_source=source)
                 for name, spec in specs.items()}
    targets = {}
    for tier_id, tier in (data.get("tiers") or {}).items():
        for tname, target in (tier.get("targets") or {}).items():
            spec = target.get("within") or target.get("from")
            targets[(tier_id, tname)] = parse_target(str(spec)) if spec is not None else None
    warnings = [Diagnostic(w["code"], w["message"], Span(*w["span"]), w["severity"], w["hint"]) for w in entry["warnings"]]
    # what compile_policy reads of a CheckedPolicy (slapolicy.language.check, not imported: it brings lark)
    return SimpleNamespace(loaded=loaded, data=data, exprs=exprs, calendars=calendars, targets=targets,
                           diagnostics=warnings, errors=[], cached=True)
