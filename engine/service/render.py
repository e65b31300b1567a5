"""A policy as a readable HTML page, for GET /v1/policies/{id}/render.

Uses `slapolicy.tools.render.render(compiled, "html")` when that module is there (the review tools' renderer,
`slapolicy render`); otherwise, or if it fails, a plain page made from the policy data: header, calendars, tiers and targets, acceptance,
scope, tier rules, delay reasons, notices, billing, definitions and assumptions, each with its clause.
Every piece of text from the policy is HTML-escaped.
"""
from __future__ import annotations

import html
import importlib.util
import logging

log = logging.getLogger("slapolicy.server")


def render_html(policy, compiled=None) -> str:
    """The page for one edition of a policy (default: the current one)."""
    compiled = compiled or policy.compiled
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import render

            return render(compiled, "html")
        except Exception:  # the page must not go down with the renderer: log it, serve the plain page
            log.exception("slapolicy.tools.render failed for policy '%s'; serving the plain page", compiled.id)
    return fallback_html(compiled.data, compiled.content_hash)


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clause(value) -> str:
    return f'<span class="clause">§&nbsp;{_e(value)}</span>' if value not in (None, "") else ""


def _table(headers, rows) -> str:
    if not rows:
        return "<p class=\"none\">none</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _code(value) -> str:
    return f"<code>{_e(value)}</code>" if value not in (None, "") else ""


def _target(t: dict) -> str:
    if "within" in t:
        text = f"within {_e(t['within'])}"
    elif "from" in t:
        text = f"from {_e(t['from'])} (lower bound only)"
    else:
        text = "no guaranteed time"
    if t.get("calendar"):
        text += f" ({_e(t['calendar'])})"
    return text


def _rules(items, extra_header=None, extra=None) -> str:
    headers = ["rule", "when"] + ([extra_header] if extra_header else []) + ["message", "clause", "assumptions"]
    rows = []
    for r in items or []:
        row = [_code(r.get("id")), _code(r.get("when")) or "<em>always</em>"]
        if extra_header:
            row.append(extra(r))
        row += [_e(r.get("message")), _clause(r.get("source")), _e(", ".join(r.get("assumptions") or []))]
        rows.append(row)
    return _table(headers, rows)


def fallback_html(data: dict, content_hash: str = "") -> str:
    d = data or {}
    parts = [f"<h1>{_e(d.get('title') or d.get('id'))}</h1>",
             "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in (
                 ("id", d.get("id")), ("version", d.get("version")), ("effective from", d.get("effective_from")),
                 ("time zone", d.get("timezone")), ("content hash", content_hash)) if v) + "</dl>"]
    reg = d.get("regulation")
    if isinstance(reg, dict) and reg:
        parts.append("<p class=\"regulation\">Regulation: " + _e(", ".join(f"{k}: {v}" for k, v in reg.items())) + "</p>")

    parts.append("<h2>Calendars</h2>")
    rows = []
    for name, c in (d.get("calendars") or {}).items():
        week = c.get("week")
        week_text = ", ".join(f"{k}: {v}" for k, v in week.items()) if isinstance(week, dict) else week
        overrides = c.get("overrides") or {}
        extra = [f"holidays: {c['holidays']}" if c.get("holidays") else "",
                 f"holiday hours: {c['holiday_hours']}" if c.get("holiday_hours") else "",
                 f"workday hours: {c['workday_hours']}" if c.get("workday_hours") else "",
                 "overrides: " + ", ".join(f"{k}: {v}" for k, v in overrides.items()) if overrides else ""]
        rows.append([_code(name), _e(c.get("timezone") or d.get("timezone")), _e(week_text),
                     _e("; ".join(x for x in extra if x)), _clause(c.get("source")),
                     _e(", ".join(c.get("assumptions") or []))])
    parts.append(_table(["calendar", "time zone", "week", "holidays and overrides", "clause", "assumptions"], rows))

    parts.append("<h2>Tiers and targets</h2>")
    rows = []
    for tid, t in (d.get("tiers") or {}).items():
        targets = "<br>".join(f"{_e(n)}: {_target(x)} {_clause(x.get('source'))}"
                              for n, x in (t.get("targets") or {}).items())
        rows.append([_code(tid), _e(t.get("name")), targets, _clause(t.get("source")),
                     _e(", ".join(t.get("assumptions") or []))])
    parts.append(_table(["tier", "name", "targets", "clause", "assumptions"], rows))

    parts.append("<h2>Acceptance</h2><p>Every rule that fires makes the request <em>not accepted</em>.</p>")
    parts.append(_rules(d.get("acceptance")))
    parts.append("<h2>Scope</h2><p>The first rule that fires sets the status.</p>")
    parts.append(_rules(d.get("scope"), "status", lambda r: _e(r.get("status"))))
    parts.append("<h2>Tier rules</h2><p>The first rule that fires picks the tier.</p>")
    parts.append(_rules(d.get("tier_rules"), "tier", lambda r: _code(r.get("tier"))))
    parts.append("<h2>Delay reasons</h2>")
    parts.append(_rules(d.get("delay_reasons"), "code", lambda r: _code(r.get("code"))))
    if d.get("notices"):
        parts.append("<h2>Notices</h2>")
        parts.append(_rules(d.get("notices")))
    billing = d.get("billing")
    if isinstance(billing, dict) and billing:
        parts.append("<h2>Billing</h2>")
        minimum = billing.get("minimum_minutes") or {}
        if minimum:
            parts.append(f"<p>Minimum {_e(minimum.get('value'))} minutes {_clause(minimum.get('source'))}</p>")
        parts.append(_rules(billing.get("rates"), "multiplier", lambda r: _e(r.get("multiplier"))))
    if d.get("definitions"):
        parts.append("<h2>Definitions</h2>")
        parts.append(_table(["name", "expression", "description", "clause", "assumptions"], [
            [_code(n), _code(x.get("expr")), _e(x.get("description")), _clause(x.get("source")),
             _e(", ".join(x.get("assumptions") or []))] for n, x in d["definitions"].items()]))
    parts.append("<h2>Assumptions</h2><p>Interpretations of unclear text, named by the rules that rely on them.</p>")
    parts.append(_table(["assumption", "clause", "text", "why"], [
        [_code(a.get("id")), _clause(a.get("clause")), _e(a.get("text")), _e(a.get("why"))]
        for a in d.get("assumptions") or []]))
    title = _e(d.get("title") or d.get("id"))
    style = ("body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem;color:#222}"
             "table{border-collapse:collapse;width:100%;margin-bottom:1rem}"
             "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
             "th{background:#f3f3f3}code{font-size:.9em}.clause{color:#555;white-space:nowrap}"
             "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}")
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
