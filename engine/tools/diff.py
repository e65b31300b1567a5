"""`slapolicy diff OLD NEW`: what a policy change says, and what it does to tickets.

OLD and NEW are policy files, directories of policies, or git revisions:
  policies/advantshop.yaml          a file in the working tree
  policies/                         every policy file of a directory (paired by file name)
  HEAD~1:policies/advantshop.yaml   a file (or directory) at a revision (`git show`)
  HEAD~1                            the same path as the other side, at that revision
                                    (both sides revisions: the bundled policies/ directory)

Part 1, the semantic changes, one line each with its clause: targets, calendars' hours, topics that
move between in scope / out of scope / consultation, channels accepted or refused, rules added /
removed / with a new condition or outcome / moved in a first-match list, assumptions, definitions,
billing. Topic and channel moves are measured by the compiled rules themselves: a ticket with only
that topic (channel) known is decided by the old and by the new policy (slapolicy.tools.lint probes).

Part 2, the impact: every ticket of a corpus (JSON Lines, or a generated one: slapolicy.tools.corpus with a
fixed seed) is decided by both policies; the report counts the tickets whose eligibility, tier,
first-response due time (earlier / later, median and maximum shift), delay reasons, notices or billing
change, with a few example ticket ids for each change.
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLES = 3
VOCABULARY = "vocabulary.yaml"  # a side's repository vocabulary (slapolicy.language.vocabulary): `.vocabulary`


class DiffError(Exception):
    """Bad input: a side that cannot be read, compiled, or found in git."""


# -- reading both sides -------------------------------------------------------------------------

def _git(args, cwd) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiffError(f"git is not available: {exc}") from None
    if proc.returncode != 0:
        raise DiffError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git {' '.join(args)} failed")
    return proc.stdout


def _is_revision(spec: str, cwd) -> bool:
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], cwd)
        return True
    except DiffError:
        return False


def _policy_name(name: str) -> bool:
    return name.endswith(".yaml") and name.count(".") == 1 and name != VOCABULARY


def _read_path(path: Path) -> "OrderedDict[str, tuple[str, str]]":
    from slapolicy.api import _display

    out: OrderedDict = OrderedDict()
    files = sorted(p for p in path.glob("*.yaml") if _policy_name(p.name)) if path.is_dir() else [path]
    from slapolicy.language.diagnostics import PolicyError
    from slapolicy.language.load import read_policy_file

    vocab = (path if path.is_dir() else path.parent) / VOCABULARY
    for f in files + ([vocab] if vocab.is_file() else []):
        try:
            out[f.stem] = (_display(f), read_policy_file(f, _display(f)))  # the one safe reader
        except PolicyError as exc:
            raise DiffError(exc.diagnostics[0].format()) from None
    if vocab.is_file():
        out.vocabulary = out.pop(vocab.stem)[::-1]
    return out


def _read_rev(rev: str, path: str, cwd) -> "OrderedDict[str, tuple[str, str]]":
    rel = path if path.startswith("./") or path.startswith("/") else "./" + path
    if rel.startswith("/"):
        top = _git(["rev-parse", "--show-toplevel"], cwd).strip()
        try:
            rel = str(Path(rel).resolve().relative_to(Path(top).resolve()))
        except ValueError:
            raise DiffError(f"'{path}' is not inside the git repository {top}") from None
        if rel == ".":  # the repository's top: `rev:` names its tree
            rel = ""
    kind = _git(["cat-file", "-t", f"{rev}:{rel}"], cwd).strip()
    out: OrderedDict = OrderedDict()
    if kind == "tree":
        # --full-tree: from a subdirectory, ls-tree would otherwise filter the tree by that subdirectory
        names = _git(["ls-tree", "--full-tree", "--name-only", f"{rev}:{rel}"], cwd).split()
        inside = f"{rel.rstrip('/')}/" if rel else ""
        for name in sorted(n for n in names if _policy_name(n)):
            out[name[:-5]] = (f"{rev}:{inside}{name}", _git(["show", f"{rev}:{inside}{name}"], cwd))
        if VOCABULARY in names:
            out.vocabulary = (_git(["show", f"{rev}:{inside}{VOCABULARY}"], cwd), f"{rev}:{inside}{VOCABULARY}")
        return out
    name = Path(path).name
    out[name[:-5] if name.endswith(".yaml") else name] = (f"{rev}:{rel}", _git(["show", f"{rev}:{rel}"], cwd))
    inside = f"{Path(rel).parent.as_posix()}/"
    if VOCABULARY in _git(["ls-tree", "--full-tree", "--name-only", f"{rev}:{inside}"], cwd).split():
        out.vocabulary = (_git(["show", f"{rev}:{inside}{VOCABULARY}"], cwd), f"{rev}:{inside}{VOCABULARY}")
    return out


def resolve(spec: str, other: str | None = None, cwd=None) -> "OrderedDict[str, tuple[str, str]]":
    """policy name -> (label, text) for one side of a diff."""
    from slapolicy.api import _display, default_policies_dir

    cwd = cwd or Path.cwd()
    path = Path(spec)
    if path.exists():
        return _read_path(path)
    if ":" in spec and not Path(spec.split(":", 1)[0]).exists():
        rev, _, sub = spec.partition(":")
        if not _is_revision(rev or "HEAD", cwd):
            raise DiffError(f"'{rev}' is not a git revision (in '{spec}')")
        return _read_rev(rev or "HEAD", sub or ".", cwd)
    if _is_revision(spec, cwd):
        if other is not None and Path(other).exists():
            return _read_rev(spec, _display(Path(other)) if not Path(other).is_absolute() else other, cwd)
        if other is not None and ":" in other:
            return _read_rev(spec, other.partition(":")[2], cwd)
        here = Path(cwd).resolve()  # a policy repository of one's own (slapolicy init), else the bundled policies
        mine = any(_policy_name(p.name) for p in here.glob("*.yaml"))
        return _read_rev(spec, str(here if mine else default_policies_dir().resolve()), cwd)  # absolute: from any cwd
    raise DiffError(f"'{spec}' is neither a policy file, a directory nor a git revision")


def compile_side(files) -> "OrderedDict[str, object]":
    from slapolicy.api import _compile_text
    from slapolicy.language.diagnostics import PolicyError

    out: OrderedDict = OrderedDict()
    repository = getattr(files, "vocabulary", None)
    for name, (label, text) in files.items():
        try:
            out[name] = _compile_text(text, label, repository)
        except PolicyError as exc:
            raise DiffError(exc.format()) from None
    return out


# -- part 1: semantic changes -------------------------------------------------------------------

@dataclass
class Change:
    kind: str  # target, calendar, topic, channel, rule, assumption, definition, tier, billing, policy, ...
    text: str
    clause: str | None = None

    def line(self) -> str:
        return self.text + (f" (clause {self.clause})" if self.clause else "")

    def to_json(self) -> dict:
        return {"kind": self.kind, "text": self.text, "clause": self.clause}


def _target_text(target: dict | None) -> str:
    if not target:
        return "none"
    if target.get("no_guarantee"):
        text = "no guarantee"
    elif "within" in target:
        text = f"within {target['within']}"
    else:
        text = f"from {target['from']}"
    return text + (f" ({target['calendar']})" if target.get("calendar") else "")


STATUS_WORDS = {"in_scope": "in scope", "out_of_scope": "out of scope", "consultation_only": "consultation only",
                "not_accepted": "not accepted", None: "undecided"}
RULE_LISTS = (("acceptance", "acceptance rule"), ("scope", "scope rule"), ("tier_rules", "tier rule"),
              ("delay_reasons", "delay reason"), ("notices", "notice"))
OUTCOME = {"scope": "status", "tier_rules": "tier", "delay_reasons": "code"}


def _rules(data, name):
    if name == "billing":
        return (data.get("billing") or {}).get("rates") or []
    if name == "lifecycle":
        return (data.get("lifecycle") or {}).get("rules") or []
    return data.get(name) or []


def semantic_changes(old, new) -> list[Change]:
    """What changed between two compiled policies, one Change per clause-level difference."""
    a, b = old.data, new.data
    out: list[Change] = []
    for key in ("id", "title", "version", "timezone", "effective_from"):
        if a.get(key) != b.get(key):
            out.append(Change("policy", f"{key} changed: {a.get(key)!r} -> {b.get(key)!r}"))
    if a.get("regulation") != b.get("regulation"):
        out.append(Change("policy", "regulation reference changed"))
    out += _calendar_changes(old, new)
    out += _tier_changes(a, b)
    out += _probe_changes(old, new)
    for name, label in RULE_LISTS + (("billing", "billing rate"), ("lifecycle", "lifecycle rule")):
        out += _rule_changes(name, label, _rules(a, name), _rules(b, name))
    ma, mb = (a.get("billing") or {}).get("minimum_minutes"), (b.get("billing") or {}).get("minimum_minutes")
    if ma != mb:
        out.append(Change("billing", f"minimum billable time {(ma or {}).get('value')} min -> {(mb or {}).get('value')} min",
                          str((mb or ma or {}).get("source") or "") or None))
    out += _keyed_changes("assumption", {x["id"]: x for x in a.get("assumptions") or []},
                          {x["id"]: x for x in b.get("assumptions") or []}, ("text", "clause", "why"), "clause")
    out += _keyed_changes("definition", a.get("definitions") or {}, b.get("definitions") or {},
                          ("expr", "source", "assumptions"), "source")
    if a.get("lifecycle") != b.get("lifecycle"):
        for key in sorted(set(a.get("lifecycle") or {}) | set(b.get("lifecycle") or {}) - {"rules"}):
            if key != "rules" and (a.get("lifecycle") or {}).get(key) != (b.get("lifecycle") or {}).get(key):
                out.append(Change("lifecycle", f"lifecycle {key} changed"))
    return out


def _keyed_changes(kind, old: dict, new: dict, fields, clause_key) -> list[Change]:
    out = []
    for key in new:
        if key not in old:
            out.append(Change(kind, f"{kind} '{key}' added", str(new[key].get(clause_key) or "") or None))
    for key in old:
        if key not in new:
            out.append(Change(kind, f"{kind} '{key}' removed", str(old[key].get(clause_key) or "") or None))
    for key in new:
        if key in old:
            for f in fields:
                if old[key].get(f) != new[key].get(f):
                    out.append(Change(kind, f"{kind} '{key}' {f} changed: {_short(old[key].get(f))} -> "
                                            f"{_short(new[key].get(f))}", str(new[key].get(clause_key) or "") or None))
    return out


def _short(value, width=90) -> str:
    text = " ".join(str(value).split()) if value is not None else "none"
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _calendar_changes(old, new) -> list[Change]:
    out = []
    ca, cb = old.data.get("calendars") or {}, new.data.get("calendars") or {}
    for name in cb:
        if name not in ca:
            out.append(Change("calendar", f"calendar '{name}' added: {_describe(new, name)}", str(cb[name].get("source") or "") or None))
    for name in ca:
        if name not in cb:
            out.append(Change("calendar", f"calendar '{name}' removed", str(ca[name].get("source") or "") or None))
    for name in cb:
        if name not in ca:
            continue
        sa = {k: v for k, v in ca[name].items() if k not in ("source", "assumptions", "description")}
        sb = {k: v for k, v in cb[name].items() if k not in ("source", "assumptions", "description")}
        if sa == sb:
            continue
        da, db = _describe(old, name), _describe(new, name)
        detail = f"{da} -> {db}" if da != db else "; ".join(
            f"{k} {sa.get(k)!r} -> {sb.get(k)!r}" for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k))
        out.append(Change("calendar", f"calendar '{name}' hours changed: {detail}", str(cb[name].get("source") or "") or None))
    return out


def _describe(compiled, name) -> str:
    cal = compiled.calendars.get(name)
    try:
        return cal.describe() if cal is not None else "?"
    except Exception:  # noqa: BLE001 - a description is a courtesy
        return json.dumps(compiled.data["calendars"][name], ensure_ascii=False, default=str)


def _tier_changes(a, b) -> list[Change]:
    out = []
    ta, tb = a.get("tiers") or {}, b.get("tiers") or {}
    for tid in tb:
        if tid not in ta:
            first = (tb[tid].get("targets") or {}).get("first_response")
            out.append(Change("tier", f"tier '{tid}' added: first response {_target_text(first)}", str(tb[tid].get("source") or "") or None))
    for tid in ta:
        if tid not in tb:
            out.append(Change("tier", f"tier '{tid}' removed", str(ta[tid].get("source") or "") or None))
    for tid in tb:
        if tid not in ta:
            continue
        if ta[tid].get("name") != tb[tid].get("name"):
            out.append(Change("tier", f"tier '{tid}' renamed: {ta[tid].get('name')!r} -> {tb[tid].get('name')!r}",
                              str(tb[tid].get("source") or "") or None))
        xa, xb = ta[tid].get("targets") or {}, tb[tid].get("targets") or {}
        for name in list(xb) + [n for n in xa if n not in xb]:
            before, after = xa.get(name), xb.get(name)
            if _target_text(before) != _target_text(after):
                clause = str((after or before).get("source") or "") or None
                out.append(Change("target", f"tier '{tid}' {name.replace('_', ' ')} target changed: "
                                            f"{_target_text(before)} -> {_target_text(after)}", clause))
    return out


def _probe_changes(old, new) -> list[Change]:
    from slapolicy.tools.lint import channel_acceptance, topic_scope

    out = []
    ca, cb = channel_acceptance(old), channel_acceptance(new)
    for channel in cb:
        was, now = ca.get(channel) or [], cb[channel]
        if not was and now:
            out.append(Change("channel", f"channel '{channel}' no longer accepted (rule '{now[0].id}')", now[0].source))
        elif was and not now:
            out.append(Change("channel", f"channel '{channel}' now accepted (rule '{was[0].id}' no longer refuses it)", was[0].source))
    ta, tb = topic_scope(old), topic_scope(new)
    for topic in tb:
        ra, rb = ta.get(topic), tb[topic]
        sa, sb = (ra.status if ra else None), (rb.status if rb else None)
        if sa != sb:
            out.append(Change("topic", f"topic '{topic}' moved from {STATUS_WORDS.get(sa, sa)} to {STATUS_WORDS.get(sb, sb)}"
                                       + (f" (rule '{rb.id}')" if rb else ""), rb.source if rb else (ra.source if ra else None)))
    return out


def _rule_changes(name, label, old_rules, new_rules) -> list[Change]:
    out = []
    ia = {r["id"]: (i, r) for i, r in enumerate(old_rules)}
    ib = {r["id"]: (i, r) for i, r in enumerate(new_rules)}
    outcome_key = OUTCOME.get(name)
    for rid, (i, r) in ib.items():
        if rid not in ia:
            what = f" -> {outcome_key} {r.get(outcome_key)}" if outcome_key else ""
            when = (f" on {r['on']}" if "on" in r else "") + (f" when {_short(r['when'])}" if "when" in r else
                                                               ("" if "on" in r else " (default)"))
            out.append(Change("rule", f"{label} '{rid}' added{when}{what}", str(r.get("source") or "") or None))
    for rid, (i, r) in ia.items():
        if rid not in ib:
            out.append(Change("rule", f"{label} '{rid}' removed", str(r.get("source") or "") or None))
    for rid, (j, r) in ib.items():
        if rid not in ia:
            continue
        i, q = ia[rid]
        clause = str(r.get("source") or "") or None
        if " ".join(str(q.get("when", "")).split()) != " ".join(str(r.get("when", "")).split()):
            out.append(Change("rule", f"{label} '{rid}' condition changed: {_short(q.get('when', '(default)'))} -> "
                                      f"{_short(r.get('when', '(default)'))}", clause))
        for key in ("status", "tier", "code", "multiplier", "on", "unless", "set"):
            if q.get(key) != r.get(key):
                out.append(Change("rule", f"{label} '{rid}' {key} changed: {q.get(key)} -> {r.get(key)}", clause))
        if q.get("message") != r.get("message"):
            out.append(Change("rule", f"{label} '{rid}' message changed", clause))
        if str(q.get("source")) != str(r.get("source")):
            out.append(Change("rule", f"{label} '{rid}' clause changed: {q.get('source')} -> {r.get('source')}", clause))
        if sorted(q.get("assumptions") or []) != sorted(r.get("assumptions") or []):
            out.append(Change("rule", f"{label} '{rid}' assumptions changed: {q.get('assumptions') or []} -> "
                                      f"{r.get('assumptions') or []}", clause))
    if name in ("scope", "tier_rules"):  # order decides in first-match lists
        common_a = [r["id"] for r in old_rules if r["id"] in ib]
        common_b = [r["id"] for r in new_rules if r["id"] in ia]
        if common_a != common_b:
            for rid in common_b:
                if common_a.index(rid) != common_b.index(rid):
                    out.append(Change("rule", f"{label} '{rid}' moved from position {ia[rid][0] + 1} to {ib[rid][0] + 1} "
                                              "(first match wins)", str(ib[rid][1].get("source") or "") or None))
    return out


# -- part 2: impact on a corpus -----------------------------------------------------------------

def _summary(decision) -> dict:
    fr = (decision.get("deadlines") or {}).get("first_response") or {}
    return {"eligibility": decision["eligibility"]["status"],
            "tier": (decision.get("tier") or {}).get("id"),
            "due": fr.get("due"), "not_before": fr.get("not_before"),
            "delay_reasons": sorted({r["code"] for r in decision.get("delay_reasons") or []}),
            "notices": sorted({n["rule"] for n in decision.get("notices") or []}),
            "rate": (decision.get("billing") or {}).get("rate_multiplier")}


def _instant(text):
    return dt.datetime.fromisoformat(text) if text else None


@dataclass
class Impact:
    source: str  # where the tickets came from
    tickets: int = 0
    changed: list = field(default_factory=list)  # ticket ids with any change
    groups: "OrderedDict[str, dict]" = field(default_factory=OrderedDict)  # label -> {count, examples, ...}
    shifts: dict = field(default_factory=dict)  # "earlier"/"later" -> list of seconds

    def add(self, label, ticket_id, **extra):
        g = self.groups.setdefault(label, {"count": 0, "examples": [], **extra})
        g["count"] += 1
        if len(g["examples"]) < EXAMPLES:
            g["examples"].append(ticket_id)
        return g

    def to_json(self) -> dict:
        return {"corpus": self.source, "tickets": self.tickets, "changed": len(self.changed),
                "changes": [{"change": k, **v} for k, v in self.groups.items()]}


def impact(old, new, tickets, source: str) -> Impact:
    """Decide every ticket (validated dicts) with both compiled policies; group what changes."""
    from slapolicy.decide.evaluate import evaluate

    result = Impact(source)
    shifts: dict = {"earlier": [], "later": []}
    examples: dict = {"earlier": [], "later": []}
    for t in tickets:
        a = _summary(evaluate(old, t, explain=False))
        b = _summary(evaluate(new, t, explain=False))
        result.tickets += 1
        if a == b:
            continue
        tid = t.get("id")
        result.changed.append(tid)
        if a["eligibility"] != b["eligibility"]:
            result.add(f"eligibility {a['eligibility']} -> {b['eligibility']}", tid)
        if a["tier"] != b["tier"]:
            result.add(f"tier {a['tier'] or 'none'} -> {b['tier'] or 'none'}", tid)
        for key, word in (("due", "first response due"), ("not_before", "first response not before")):
            x, y = _instant(a[key]), _instant(b[key])
            if x == y:
                continue
            if x is None or y is None:
                what = "deadline" if key == "due" else "lower bound (not before)"
                result.add(f"first response {what} {'added' if x is None else 'removed'}", tid)
                continue
            seconds = (y - x).total_seconds()
            direction = "earlier" if seconds < 0 else "later"
            if key == "due":
                shifts[direction].append(abs(seconds))
                if len(examples[direction]) < EXAMPLES:
                    examples[direction].append(tid)
            else:
                result.add(f"{word} {direction}", tid)
        for code in sorted(set(b["delay_reasons"]) - set(a["delay_reasons"])):
            result.add(f"delay reason {code} added", tid)
        for code in sorted(set(a["delay_reasons"]) - set(b["delay_reasons"])):
            result.add(f"delay reason {code} removed", tid)
        for rid in sorted(set(b["notices"]) - set(a["notices"])):
            result.add(f"notice {rid} added", tid)
        for rid in sorted(set(a["notices"]) - set(b["notices"])):
            result.add(f"notice {rid} removed", tid)
        if a["rate"] != b["rate"]:
            result.add(f"billing rate x{a['rate']} -> x{b['rate']}", tid)
    for direction in ("earlier", "later"):
        values = shifts[direction]
        if values:
            result.groups[f"first response due {direction}"] = {
                "count": len(values), "examples": examples[direction],
                "median_seconds": statistics.median(values), "max_seconds": max(values)}
    # the due-time groups first: they are what reviewers look for
    ordered = OrderedDict(sorted(result.groups.items(), key=lambda kv: (not kv[0].startswith("first response due "),
                                                                         kv[0].split(" ")[0], -kv[1]["count"])))
    result.groups = ordered
    return result


def load_corpus(path, vocabulary=None) -> list[dict]:
    """Validated tickets of a JSON Lines file; DiffError naming file:line for a bad line."""
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.language.diagnostics import TicketError

    out = []
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffError(f"{path}: cannot read the corpus: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(validate_ticket(json.loads(line), vocabulary))
        except json.JSONDecodeError as exc:
            raise DiffError(f"{path}:{number}:{exc.colno}: error: json-syntax: {exc.msg}") from None
        except TicketError as exc:
            raise DiffError(exc.format(f"{path}:{number}")) from None
    return out


def generated_corpus(old, new, n: int, seed: int) -> list[dict]:
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.tools.corpus import generate

    return [validate_ticket(t, new.vocabulary) for t in generate([new, old], n, seed)]


# -- the whole report ---------------------------------------------------------------------------

@dataclass
class PolicyDiff:
    name: str
    old_label: str | None
    new_label: str | None
    changes: list = field(default_factory=list)
    impact: Impact | None = None

    def to_json(self) -> dict:
        return {"policy": self.name, "old": self.old_label, "new": self.new_label,
                "changes": [c.to_json() for c in self.changes],
                "impact": self.impact.to_json() if self.impact else None}


def diff(old_spec: str, new_spec: str, corpus=None, n: int = 1000, seed: int = 0, cwd=None) -> list[PolicyDiff]:
    old_files = resolve(old_spec, new_spec, cwd)
    new_files = resolve(new_spec, old_spec, cwd)
    if len(old_files) == 1 and len(new_files) == 1:  # two single files: compare them whatever their names
        old_files[next(iter(new_files))] = old_files.pop(next(iter(old_files)))  # keeps `.vocabulary`
    old_c, new_c = compile_side(old_files), compile_side(new_files)
    tickets = load_corpus(corpus, next(iter(new_c.values())).vocabulary if new_c else None) if corpus else None
    out = []
    for name in list(new_c) + [k for k in old_c if k not in new_c]:
        a, b = old_c.get(name), new_c.get(name)
        pd = PolicyDiff(name, old_files[name][0] if a else None, new_files[name][0] if b else None)
        if a is None:
            pd.changes.append(Change("policy", f"policy '{name}' added"))
        elif b is None:
            pd.changes.append(Change("policy", f"policy '{name}' removed"))
        else:
            pd.changes = semantic_changes(a, b)
            if a.content_hash != b.content_hash:
                sample = tickets if tickets is not None else generated_corpus(a, b, n, seed)
                pd.impact = impact(a, b, sample, str(corpus) if corpus else f"generated corpus, seed {seed}")
        out.append(pd)
    return out


def any_impact(diffs) -> bool:
    return any(d.impact is not None and d.impact.changed for d in diffs)


# -- rendering ----------------------------------------------------------------------------------

def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)


def _group_text(label, g) -> str:
    extra = ""
    if "median_seconds" in g:
        extra = f" (by {_duration(g['median_seconds'])} median, {_duration(g['max_seconds'])} max)"
    return f"{label}: {g['count']} ticket{'s' if g['count'] != 1 else ''}{extra}; e.g. {', '.join(map(str, g['examples']))}"


def render_text(diffs) -> str:
    lines = []
    for d in diffs:
        lines.append(f"== {d.name}: {d.old_label or '(none)'} -> {d.new_label or '(none)'}")
        if not d.changes:
            lines.append("no semantic changes")
        lines.extend(f"  {c.line()}" for c in d.changes)
        if d.impact is not None:
            imp = d.impact
            lines.append(f"impact on {imp.tickets} tickets ({imp.source}): {len(imp.changed)} decision"
                         f"{'s' if len(imp.changed) != 1 else ''} change")
            lines.extend(f"  {_group_text(k, g)}" for k, g in imp.groups.items())
    return "\n".join(lines)


def _md(text) -> str:
    """Policy text in a Markdown line or table cell: no raw HTML (`<` and `&` as entities: no tag can open)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|").replace("\n", " ")


def _md_code(text) -> str:
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def render_markdown(diffs) -> str:
    lines = []
    for d in diffs:
        lines.append(f"### Policy {_md_code(d.name)}: {_md_code(d.old_label or '(none)')} → "
                     f"{_md_code(d.new_label or '(none)')}")
        lines.append("")
        if d.changes:
            lines.append(f"**What changes** ({len(d.changes)})")
            lines.append("")
            lines.extend(f"- {_md(c.text)}" + (f" — clause {_md(c.clause)}" if c.clause else "") for c in d.changes)
        else:
            lines.append("No semantic changes.")
        lines.append("")
        if d.impact is not None:
            imp = d.impact
            lines.append(f"**Impact**: {len(imp.changed)} of {imp.tickets} tickets get a different decision "
                         f"({_md(imp.source)}).")
            lines.append("")
            if imp.groups:
                lines.append("| change | tickets | shift (median / max) | examples |")
                lines.append("|---|---:|---|---|")
                for label, g in imp.groups.items():
                    shift = (f"{_duration(g['median_seconds'])} / {_duration(g['max_seconds'])}"
                             if "median_seconds" in g else "")
                    lines.append(f"| {_md(label)} | {g['count']} | {shift} | {_md(', '.join(map(str, g['examples'])))} |")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_json(diffs) -> str:
    return json.dumps({"policies": [d.to_json() for d in diffs], "impact": any_impact(diffs)}, ensure_ascii=False, indent=2)


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
