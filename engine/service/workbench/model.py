"""What the pages show, computed: a decision's timeline data, the clause anchors of the rendered regulation, links."""
from __future__ import annotations

import datetime as dt
import html
import importlib.util
import logging
import re
import urllib.parse

log = logging.getLogger("slapolicy.server")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


class PageError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def build_timeline(policy, ticket, decision, target_name, tz_name, as_of, edition) -> dict:
    """The timeline model of one deadline of a decision (default: first_response)."""
    from slapolicy.api import parse_timestamp
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.service.workbench.timeline import TimelineError, timeline, zone

    display = zone(tz_name) if tz_name else None
    tier = decision.get("tier")
    if not tier:
        raise TimelineError("the ticket is not accepted: there is no tier, so no deadline to draw")
    normal = validate_ticket(ticket, policy.compiled.vocabulary)
    compiled, _ = policy.select(normal["created_at"], edition)
    deadlines = {d.name: d for d in compiled.tiers[tier["id"]].deadlines}
    drawable = [name for name, d in (decision.get("deadlines") or {}).items()
                if d and (d.get("due") or d.get("not_before"))]
    name = target_name or ("first_response" if "first_response" in drawable else (drawable[0] if drawable else "first_response"))
    entry = (decision.get("deadlines") or {}).get(name)
    life = ((decision.get("lifecycle") or {}).get("targets") or {}).get(name)
    definition = deadlines.get(name) or (deadlines.get("first_response") if name == "next_response" else None)
    if definition is None or entry is None and life is None:
        raise TimelineError(f"the decision has no target '{name}'" + (f" (targets: {', '.join(drawable)})" if drawable else ""))
    source = life or entry
    end_text = source.get("due") or source.get("not_before")
    if not end_text:
        what = "is paused" if (life or {}).get("status") == "paused" else "has no guaranteed time"
        raise TimelineError(f"the target '{name}' {what} ({source.get('target')}): there is no due instant to draw")
    end_kind = "due" if source.get("due") else "not_before"
    start = parse_timestamp(source.get("started") or ticket["created_at"])
    pauses, marks = [], []
    if life is not None or normal.get("events"):
        pauses, marks = _lifecycle_marks(compiled, normal, name, as_of, life)
    model = timeline(calendar=definition.calendar, target=definition.target, start=start, end=parse_timestamp(end_text),
                     end_kind=end_kind, pauses=pauses, marks=marks, display_tz=display,
                     calendar_name=definition.calendar_name, target_name=name, text=source.get("target"),
                     policy_id=policy.id)
    model["drawable"] = drawable
    model["source"] = source.get("source")
    model["registration_due"] = (entry or {}).get("due")
    return model


def _lifecycle_marks(compiled, normal, name, as_of, life):
    """Pauses of the target (replayed as slapolicy.decide.lifecycle replays them) and the as-of / met marks."""
    from slapolicy.api import parse_timestamp
    from slapolicy.decide.lifecycle import TicketClock

    now = as_of or dt.datetime.now(dt.timezone.utc)
    clock = TicketClock(compiled, normal)
    for event in normal.get("events") or []:
        if event["at"] > now:
            break
        clock.apply(event)
    clock.advance(now)
    mine = [t for t in clock.targets if t.name == name]
    pauses, marks = [], []
    if mine:
        t = mine[-1]
        pauses = list(t.pauses) + ([(t.paused_since, now)] if t.paused_since is not None else [])
        if t.met_at is not None:
            marks.append(("met", t.met_at, "met"))
    if life is not None:
        marks.append(("as_of", now, "as of"))
        if life.get("met_at") and not any(k == "met" for k, _, _ in marks):
            marks.append(("met", parse_timestamp(life["met_at"]), "met"))
    return pauses, marks


# -- clause links -----------------------------------------------------------------------------------
_anchor_cache: dict = {}


def clause_anchors(compiled) -> dict | None:
    """clause key -> anchor id in slapolicy.tools.render's page (None when slapolicy.tools.render is not there)."""
    key = (compiled.id, compiled.content_hash, compiled.version)
    if key in _anchor_cache:
        return _anchor_cache[key]
    anchors = None
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import build

            anchors = dict(build(compiled).anchors)
        except Exception:  # noqa: BLE001 - links are a nicety; the text stays
            log.exception("slapolicy.tools.render.build failed for policy '%s'", compiled.id)
    if len(_anchor_cache) > 64:
        _anchor_cache.clear()
    _anchor_cache[key] = anchors
    return anchors


def _split_clauses(source):
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import split_clauses

            return split_clauses(source)
        except Exception:  # noqa: BLE001
            pass
    return [(str(source), str(source))] if source else []


def _slug(text) -> str:
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import slug

            return slug(text)
        except Exception:  # noqa: BLE001
            pass
    s = re.sub(r"\s+", "-", str(text).strip().lower())
    return re.sub(r"[^\w.\-]", "", s).strip("-") or "x"


class Links:
    """Links from a decision to the regulation page: clauses (#clause-...) and rules (#rule-...)."""

    def __init__(self, compiled, edition=None):
        self.base = f"/workbench/regulation/{urllib.parse.quote(compiled.id, safe='')}"
        if edition:
            self.base += "?" + urllib.parse.urlencode({"edition": edition})
        self.anchors = clause_anchors(compiled)

    def clauses(self, source) -> str:
        if not source:
            return ""
        if self.anchors is None:
            return f'<a class="clause" href="{_e(self.base)}">§ {_e(source)}</a>'
        out = []
        for key, shown in _split_clauses(source):
            anchor = self.anchors.get(key)
            href = self.base + ("#" + anchor if anchor else "#clauses")
            out.append(f'<a class="clause" href="{_e(href)}">§ {_e(shown)}</a>')
        return ", ".join(out)

    def rule(self, rule_id) -> str:
        if not rule_id:
            return ""
        if self.anchors is None:
            return f"<code>{_e(rule_id)}</code>"
        return f'<a class="rule" href="{_e(self.base)}#rule-{_e(_slug(rule_id))}"><code>{_e(rule_id)}</code></a>'
