"""Part 2 of a diff: the impact on a ticket corpus, decided by both policies.

One function says what changes for one ticket (`compare`: rows of (kind, label, seconds)); one builder
adds those rows up (`ImpactBuilder`: counts, the first examples in corpus order, median and maximum
shifts, kept as a histogram of distinct values so memory stays flat in the corpus size). Every engine
uses both: the local one here (streamed, in this process or over `workers` processes) and the Spark
one (slapolicy.backends.spark), which runs `compare` on its executors and merges the same tallies, so
the figures are the same whichever engine computed them.

Registration changes (kind "g"): eligibility, tier, first-response due (earlier / later, by how much),
lower bound, delay reasons, notices, billing rate. Lifecycle changes (kind "l"), for tickets with
`events`: the outcome of each SLA target at `as_of` under both revisions (met -> breached, breached ->
met, ...), and the business time between the instant that decides it (the reply, or `as_of`) and the
due that now applies.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from slapolicy.decide.parallel import chunks, ordered_map
from slapolicy.tools.diff.sides import DiffError

EXAMPLES = 3
ERROR_EXAMPLES = 10
CHUNK = 1000  # tickets per task for local workers


# -- one ticket ---------------------------------------------------------------------------------

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


def _outcomes(decision) -> dict:
    """target name -> the entry that decides its outcome: the first breached one, else the last."""
    life = decision.get("lifecycle")
    if not life:
        return {}
    return {name: next((e for e in entries if e["status"] == "breached"), entries[-1])
            for name, entries in life["history"].items()}


def _business_seconds(policy, entry, a, b) -> float:
    lo, hi = min(a, b), max(a, b)
    cal = policy.calendars.get(entry.get("calendar")) if entry.get("calendar") else None
    return cal.business_seconds_between(lo, hi) if cal is not None else (hi - lo).total_seconds()


def _moved_by(policy, entry, as_of):
    """Business time between what decides the outcome (the reply, else as_of) and the due; None without one."""
    due = _instant(entry.get("due"))
    if due is None or entry["status"] not in ("met", "breached"):
        return None
    return _business_seconds(policy, entry, _instant(entry.get("met_at")) or as_of, due)


def _lifecycle_rows(old, new, a, b, as_of) -> list:
    rows = []
    oa, ob = _outcomes(a), _outcomes(b)
    for name in list(ob) + [n for n in oa if n not in ob]:
        ea, eb = oa.get(name), ob.get(name)
        sa, sb = (ea or {}).get("status", "none"), (eb or {}).get("status", "none")
        if sa == sb:
            continue
        seconds = _moved_by(new, eb, as_of) if eb is not None else None
        if seconds is None and ea is not None:
            seconds = _moved_by(old, ea, as_of)
        rows.append(("l", f"{name.replace('_', ' ')} {sa} -> {sb}", seconds))
    return rows


def compare(old, new, ticket: dict, as_of: dt.datetime) -> list:
    """What changes for one validated ticket: [] or rows (kind "g" | "l", label, seconds or None)."""
    from slapolicy.decide.evaluate import evaluate

    when = as_of if ticket.get("events") else None
    da = evaluate(old, ticket, as_of=when, explain=False)
    db = evaluate(new, ticket, as_of=when, explain=False)
    a, b = _summary(da), _summary(db)
    rows = _lifecycle_rows(old, new, da, db, as_of) if when is not None else []
    if a == b:
        return rows
    if a["eligibility"] != b["eligibility"]:
        rows.append(("g", f"eligibility {a['eligibility']} -> {b['eligibility']}", None))
    if a["tier"] != b["tier"]:
        rows.append(("g", f"tier {a['tier'] or 'none'} -> {b['tier'] or 'none'}", None))
    for key, word in (("due", "first response due"), ("not_before", "first response not before")):
        x, y = _instant(a[key]), _instant(b[key])
        if x == y:
            continue
        if x is None or y is None:
            what = "deadline" if key == "due" else "lower bound (not before)"
            rows.append(("g", f"first response {what} {'added' if x is None else 'removed'}", None))
            continue
        seconds = (y - x).total_seconds()
        direction = "earlier" if seconds < 0 else "later"
        rows.append(("g", f"{word} {direction}", abs(seconds) if key == "due" else None))
    for code in sorted(set(b["delay_reasons"]) - set(a["delay_reasons"])):
        rows.append(("g", f"delay reason {code} added", None))
    for code in sorted(set(a["delay_reasons"]) - set(b["delay_reasons"])):
        rows.append(("g", f"delay reason {code} removed", None))
    for rid in sorted(set(b["notices"]) - set(a["notices"])):
        rows.append(("g", f"notice {rid} added", None))
    for rid in sorted(set(a["notices"]) - set(b["notices"])):
        rows.append(("g", f"notice {rid} removed", None))
    if a["rate"] != b["rate"]:
        rows.append(("g", f"billing rate x{a['rate']} -> x{b['rate']}", None))
    return rows


def compare_line(old, new, origin: str, number: int, item, as_of):
    """One corpus line (JSON text) or ticket (dict) -> ("t", id, has events, rows) | ("e", message)."""
    from slapolicy.decide.jsonio import loads
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.language.diagnostics import TicketError

    try:
        ticket = validate_ticket(loads(item) if isinstance(item, str) else item, new.vocabulary)
    except json.JSONDecodeError as exc:
        return ("e", f"{origin}:{number}:{exc.colno}: error: json-syntax: {exc.msg}")
    except TicketError as exc:
        return ("e", exc.format(f"{origin}:{number}"))
    return ("t", ticket.get("id"), bool(ticket.get("events")), compare(old, new, ticket, as_of))


# -- adding up ----------------------------------------------------------------------------------

class Tally:
    __slots__ = ("count", "examples", "first", "seconds")

    def __init__(self, first):
        self.count, self.examples, self.first, self.seconds = 0, [], first, Counter()


def _median(counter: Counter) -> float:
    n = sum(counter.values())
    ranks, found, seen = sorted({(n - 1) // 2, n // 2}), [], 0
    for value in sorted(counter):
        seen += counter[value]
        while ranks and ranks[0] < seen:
            found.append(value)
            ranks.pop(0)
    return found[0] if len(found) == 1 else (found[0] + found[1]) / 2


@dataclass
class Impact:
    source: str  # where the tickets came from
    tickets: int = 0
    changed: int = 0  # tickets with any change (registration or lifecycle)
    groups: "OrderedDict[str, dict]" = field(default_factory=OrderedDict)  # label -> {count, examples, ...}
    lifecycle: "OrderedDict[str, dict]" = field(default_factory=OrderedDict)  # "first response met -> breached" -> ...
    as_of: str | None = None  # the instant the lifecycle outcomes are taken at
    with_events: int = 0  # tickets whose lifecycle was compared
    errors: int = 0  # corpus lines that are not tickets (each reported, none decided)
    error_examples: list = field(default_factory=list)  # the first ones, in corpus order

    def to_json(self) -> dict:
        return {"corpus": self.source, "tickets": self.tickets, "changed": self.changed,
                "changes": [{"change": k, **v} for k, v in self.groups.items()],
                "lifecycle": {"as_of": self.as_of, "tickets_with_events": self.with_events,
                              "changes": [{"change": k, **v} for k, v in self.lifecycle.items()]},
                "errors": {"count": self.errors, "examples": self.error_examples}}


class ImpactBuilder:
    """Adds up compare() rows; `first`/ordinal is the corpus line, so examples are the earliest lines."""

    def __init__(self, source: str, as_of: dt.datetime):
        self.source, self.as_of = source, as_of
        self.tickets = self.changed = self.with_events = self.errors = 0
        self.tallies: dict = {"g": {}, "l": {}}
        self.error_lines: list = []

    def add(self, ordinal: int, tid, has_events: bool, rows) -> None:
        self.tickets += 1
        self.with_events += has_events
        if not rows:
            return
        self.changed += 1
        for kind, label, seconds in rows:
            t = self.tallies[kind].get(label)
            if t is None:
                t = self.tallies[kind][label] = Tally(ordinal)
            t.count += 1
            if len(t.examples) < EXAMPLES:
                t.examples.append(tid)
            if seconds is not None:
                t.seconds[seconds] += 1

    def add_result(self, ordinal: int, result) -> None:
        if result[0] == "e":
            self.error(ordinal, result[1])
        else:
            self.add(ordinal, *result[1:])

    def error(self, line: int, message: str) -> None:
        self.errors += 1
        if len(self.error_lines) < ERROR_EXAMPLES:
            self.error_lines.append({"line": line, "message": message})

    def merge(self, kind, label, count, examples, first, histogram) -> None:
        """A tally computed elsewhere (Spark): its examples are already the earliest lines."""
        t = self.tallies[kind][label] = Tally(first)
        t.count, t.examples = count, list(examples)
        t.seconds = Counter(dict(histogram))

    def finish(self) -> Impact:
        def entry(t: Tally) -> dict:
            out = {"count": t.count, "examples": t.examples}
            if t.seconds:
                out.update(median_seconds=_median(t.seconds), max_seconds=max(t.seconds))
            return out

        def key(item):  # the due-time groups first: they are what reviewers look for
            label, t = item
            due = label.startswith("first response due ")
            return (not due, label.split(" ")[0], -t.count, (not label.endswith("earlier")) if due else t.first)

        groups = OrderedDict((k, entry(t)) for k, t in sorted(self.tallies["g"].items(), key=key))
        life = OrderedDict((k, entry(t)) for k, t in sorted(self.tallies["l"].items(),
                                                             key=lambda kv: (-kv[1].count, kv[1].first)))
        return Impact(self.source, self.tickets, self.changed, groups, life,
                      self.as_of.isoformat() if self.as_of else None, self.with_events, self.errors,
                      sorted(self.error_lines, key=lambda e: e["line"])[:ERROR_EXAMPLES])


# -- the local engine ---------------------------------------------------------------------------

def corpus_lines(path):
    """(line number, text) of every non-blank line of a JSON Lines file, streamed."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise DiffError(f"{path}: cannot read the corpus: {exc}") from None


def _setup(old_text, old_label, new_text, new_label, origin, as_of_iso, repositories=(None, None)):
    """A worker's state: both policies compiled from their text (nothing compiled crosses processes);
    `repositories`: each side's repository vocabulary as (text, label), or None."""
    from slapolicy.api import _compile_text

    return (_compile_text(old_text, old_label, repositories[0]), _compile_text(new_text, new_label, repositories[1]),
            origin, dt.datetime.fromisoformat(as_of_iso))


def _given(*state):
    return state


def _work(state, block):
    old, new, origin, as_of = state
    return [(number, compare_line(old, new, origin, number, item, as_of)) for number, item in block]


def impact(old_side, new_side, items, source: str, as_of: dt.datetime, workers: int = 1,
           origin: str | None = None, compiled=None, repositories=(None, None)) -> Impact:
    """Decide every item of `items` ((ordinal, JSON text or ticket dict), streamed) with both policies.

    `old_side` / `new_side` are (label, policy text): each worker compiles them itself; in this process
    the `compiled` pair is used when given."""
    builder = ImpactBuilder(source, as_of)
    setup, args = _setup, (old_side[1], old_side[0], new_side[1], new_side[0], origin or source, as_of.isoformat(),
                           tuple(repositories))
    if workers <= 1 and compiled is not None:
        setup, args = _given, (compiled[0], compiled[1], origin or source, as_of)
    for block in ordered_map(setup, args, _work, chunks(items, CHUNK), workers):
        for ordinal, result in block:
            builder.add_result(ordinal, result)
    return builder.finish()


def generated_corpus(old, new, n: int, seed: int) -> list[dict]:
    from slapolicy.tools.corpus import generate

    return generate([new, old], n, seed)  # drawn from the new side's (merged) vocabulary
