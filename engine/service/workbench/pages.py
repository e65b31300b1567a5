"""HTML of the try page: layout, the ticket form, the decision with its clauses and lifecycle."""
from __future__ import annotations

import datetime as dt
import json
import urllib.parse

from slapolicy.service.workbench.examples import DEFAULT_POLICY, _example_policy, all_examples
from slapolicy.service.workbench.form import GROUPS, Field, form_fields, form_values, share_query
from slapolicy.service.workbench.model import Links, _e


def layout(title, body, active, policies) -> str:
    def nav(key, href, text):
        cls = ' class="active"' if key == active else ""
        return f'<a{cls} href="{_e(href)}">{_e(text)}</a>'

    first = DEFAULT_POLICY if DEFAULT_POLICY in policies else (sorted(policies)[0] if policies else "")
    items = [nav("try", "/", "Try a ticket"),
             nav("regulation", f"/workbench/regulation/{urllib.parse.quote(first, safe='')}" if first else "/", "Regulation"),
             nav("diff", "/workbench/diff", "Diff report"),
             nav("at-risk", "/workbench/at-risk", "At risk"),
             nav("reports", "/workbench/reports", "Reports"),
             '<a href="/v1/policies">API: policies</a>', '<a href="/openapi.json">OpenAPI</a>']
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)} · slapolicy workbench</title>"
            "<link rel=\"icon\" href=\"/workbench/static/favicon.svg\" type=\"image/svg+xml\">"
            "<link rel=\"stylesheet\" href=\"/workbench/static/workbench.css\">"
            "<script defer src=\"/workbench/static/workbench.js\"></script></head>"
            f"<body class=\"page-{_e(active)}\"><header class=\"top\"><span class=\"brand\">slapolicy workbench</span>"
            f"<nav>{''.join(items)}</nav></header><main>{body}</main></body></html>\n")


def _policy_select(policies, selected, name="policy", attrs="") -> str:
    opts = []
    for pid in sorted(policies):
        p = policies[pid]
        sel = " selected" if pid == selected else ""
        editions = "|".join(p.edition_names())
        opts.append(f'<option value="{_e(pid)}" data-editions="{_e(editions)}"{sel}>{_e(pid)} — '
                    f'{_e(p.compiled.title)}</option>')
    return f'<select name="{_e(name)}" id="f-{_e(name)}"{attrs}>{"".join(opts)}</select>'


def _edition_select(policy, selected) -> str:
    opts = ['<option value="">in force at created_at (auto)</option>']
    for ed_name, c in policy.editions:
        value = ed_name or "current"
        label = (f"{ed_name} (version {c.version})" if ed_name else f"current (version {c.version})")
        sel = " selected" if value == selected else ""
        opts.append(f'<option value="{_e(value)}"{sel}>{_e(label)}</option>')
    if selected and selected not in [n or "current" for n, _ in policy.editions]:
        opts.append(f'<option value="{_e(selected)}" selected>{_e(selected)} (unknown)</option>')
    return f'<select name="edition" id="f-edition">{"".join(opts)}</select>'


def field_label(f: Field) -> str:
    """A readable label: the field's name without its object, words title-cased (license_purchased_at ->
    "License purchased at"); the raw name and the schema's description are the label's tooltip."""
    words = ".".join(f.path[1:] if f.path[0] in ("customer", "form") and len(f.path) > 1 else f.path)
    text = words.replace(".", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _input(f: Field, values: dict, errors: dict, policy_tz) -> str:
    name = f.name
    value = values.get(name, "")
    fid = "f-" + name.replace(".", "-")
    label_text = field_label(f)
    req = '<abbr class="req" title="required">*</abbr>' if f.required else ""
    hint = f' title="{_e(name)}' + (f': {_e(f.description)}' if f.description else "") + '"'
    invalid = ' aria-invalid="true"' if name in errors else ""
    if f.kind == "enum":
        options = list(f.options)
        if value and value not in options:
            options.append(value)
        opts = ([] if f.required and value else ['<option value="">unknown</option>']) + [
            f'<option value="{_e(o)}"{" selected" if o == value else ""}>{_e(o)}</option>' for o in options]
        control = f'<select id="{fid}" name="{_e(name)}"{invalid}>{"".join(opts)}</select>'
    elif f.kind == "boolean":
        opts = "".join(f'<option value="{v}"{" selected" if v == value else ""}>{t}</option>'
                       for v, t in (("", "unknown"), ("true", "true"), ("false", "false")))
        if value and value not in ("true", "false"):
            opts += f'<option value="{_e(value)}" selected>{_e(value)}</option>'
        control = f'<select id="{fid}" name="{_e(name)}" class="tri"{invalid}>{opts}</select>'
    elif f.kind == "datetime":
        zone_value = values.get(name + "@tz", "") or (policy_tz.key if not value else "")
        # text in the decision's own format (YYYY-MM-DDTHH:MM:SS), not a datetime-local in the browser's locale
        control = (f'<span class="dt"><input type="text" id="{fid}" name="{_e(name)}" value="{_e(value)}" '
                   f'placeholder="YYYY-MM-DDTHH:MM:SS" pattern="\\d{{4}}-\\d{{2}}-\\d{{2}}[T ]\\d{{2}}:\\d{{2}}(:\\d{{2}})?" '
                   f'inputmode="numeric" autocomplete="off"{invalid}><input type="text" class="tz" list="zones" '
                   f'id="{fid}-tz" name="{_e(name)}@tz" value="{_e(zone_value)}" placeholder="{_e(policy_tz.key)}" '
                   f'aria-label="time zone of {_e(name)}" title="IANA time zone or UTC offset (+03:00)"></span>')
    elif f.kind in ("integer", "number"):
        bounds = (f' min="{f.minimum}"' if f.minimum is not None else "") + (f' max="{f.maximum}"' if f.maximum is not None else "")
        control = (f'<input type="number" id="{fid}" name="{_e(name)}" value="{_e(value)}"{bounds}'
                   f'{" step=any" if f.kind == "number" else ""}{invalid}>')
    elif f.kind == "date":
        control = (f'<input type="text" id="{fid}" name="{_e(name)}" value="{_e(value)}" placeholder="YYYY-MM-DD" '
                   f'pattern="\\d{{4}}-\\d{{2}}-\\d{{2}}" inputmode="numeric" autocomplete="off"{invalid}>')
    elif f.kind == "json":
        control = (f'<textarea id="{fid}" name="{_e(name)}" rows="2" spellcheck="false" '
                   f'placeholder="JSON list"{invalid}>{_e(value)}</textarea>')
    else:
        control = (f'<input type="text" id="{fid}" name="{_e(name)}" value="{_e(value)}" '
                   f'placeholder="unknown" title="blank: unknown; type &quot;&quot; for an empty value"{invalid}>')
    error = f'<span class="field-error">{_e(errors[name])}</span>' if name in errors else ""
    return (f'<div class="field field-{f.kind}"><label for="{fid}"{hint}>{_e(label_text)}{req}</label>'
            f'{control}{error}</div>')


def try_page(state, policies, request) -> str:
    policy = state["policy"]
    compiled = policy.compiled
    tz = compiled.timezone
    ticket = state["ticket"]
    values = state.get("form") or form_values(ticket, tz, compiled.vocabulary)
    errors = state["errors"]
    groups = []
    for key, title in GROUPS:
        fields = [f for f in form_fields(compiled.vocabulary) if f.group == key]
        if not fields:
            continue
        inner = "".join(_input(f, values, errors, tz) for f in fields)
        open_attr = " open" if key in ("ticket", "customer", "facts") or any(f.name in errors for f in fields) \
            or any(values.get(f.name) for f in fields) else ""
        groups.append(f'<details class="group group-{key}"{open_attr}><summary>{_e(title)}</summary>'
                      f'<div class="fields">{inner}</div></details>')
    zones = sorted({p.compiled.timezone.key for p in policies.values()} | {"UTC"})
    datalist = '<datalist id="zones">' + "".join(f'<option value="{_e(z)}">' for z in zones) + "</datalist>"
    json_text = state["json_text"] if state["json_text"] is not None else (
        json.dumps(ticket, ensure_ascii=False, indent=2) if ticket is not None else "")
    ex = _examples_links(policies)
    form = (
        f'<form id="ticket-form" class="ticket-form" method="post" action="/workbench/try" novalidate>'
        f'<div class="field"><label for="f-policy">policy</label>{_policy_select(policies, policy.id)}</div>'
        f'<div class="field"><label for="f-edition">edition</label>{_edition_select(policy, state["edition"])}</div>'
        f'<div class="field"><label for="f-as_of" title="evaluation time for lifecycle clocks (events)">as of</label>'
        f'<input type="text" id="f-as_of" name="as_of" value="{_e(state["as_of"])}" '
        f'placeholder="optional, e.g. 2026-03-09T12:00:00+03:00"></div>'
        f'<div class="actions"><button type="submit" name="source" value="form" id="decide">Decide</button></div>'
        + "".join(groups) + datalist +
        f'<details class="group group-json"{" open" if state.get("open_json") else ""}><summary>Paste JSON</summary>'
        f'<textarea id="ticket-json" name="ticket_json" rows="14" spellcheck="false">{_e(json_text)}</textarea>'
        f'<div class="actions"><button type="submit" name="source" value="json" id="decide-json">Decide from JSON</button>'
        f'</div></details>'
        f'<div class="actions bottom"><button type="submit" name="source" value="form">Decide</button></div></form>')
    left = f'<aside class="side"><h2>Ticket</h2>{ex}{form}</aside>'
    parts = []
    if state.get("notice"):
        parts.append(f'<p class="notice">{_e(state["notice"])}</p>')
    if state["problems"]:
        items = "".join(f'<li><code>{_e(path or "ticket")}</code>: {_e(msg)}</li>' for path, msg in state["problems"])
        parts.append(f'<section class="panel error-panel" id="problems"><h2>The ticket cannot be decided</h2>'
                     f'<ul class="problems">{items}</ul></section>')
    if state["decision"] is not None:
        parts.append(decision_html(state, request))
    right = f'<div class="result">{"".join(parts)}</div>'
    return f'<div class="try">{left}{right}</div>'


def _examples_links(policies) -> str:
    items = []
    for name, ticket in all_examples():
        pid = next((p for p in sorted(policies, key=len, reverse=True) if _example_policy(name, p)), None)
        if pid is None or not isinstance(ticket, dict):
            continue
        items.append(f'<a href="/?{_e(share_query(pid, ticket))}">{_e(name)}</a>')
    if not items:
        return ""
    return f'<p class="examples">Examples: {" · ".join(items)}</p>'


STATUS_TEXT = {"in_scope": "in scope", "out_of_scope": "out of scope", "consultation_only": "consultation only",
               "not_accepted": "not accepted"}


def _instant(text, tz_key, cls="instant", viewer=True) -> str:
    """A timestamp of the decision: in the policy's zone (as written), and a slot the script fills
    with the viewer's zone."""
    if not text:
        return "—"
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return _e(text)
    shown = f"{t:%a} {t.day} {t:%b %Y %H:%M}" + (f":{t:%S}" if t.second else "")
    utc = t.astimezone(dt.timezone.utc).isoformat()
    return (f'<time class="{cls}" datetime="{_e(utc)}" title="{_e(text)}">{_e(shown)}</time>'
            f' <span class="zone">{_e(tz_key)}, {_e(_offset(t))}</span>'
            + (f'<span class="viewer" data-at="{_e(utc)}"></span>' if viewer else ""))


def _offset(t: dt.datetime) -> str:
    minutes = int(t.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def decision_html(state, request) -> str:
    d = state["decision"]
    policy = state["policy"]
    edition = state["edition"] or None
    compiled = policy.compiled
    if d.get("policy", {}).get("edition") and len(policy.editions) > 1:
        try:
            compiled, _ = policy.select(None, d["policy"]["edition"])
        except Exception:  # noqa: BLE001
            pass
    links = Links(compiled, d.get("policy", {}).get("edition") if len(policy.editions) > 1 else None)
    tz_key = compiled.timezone.key
    status = d["eligibility"]["status"]
    out = []
    query = share_query(policy.id, state["ticket"], edition, state["as_of"] or None)
    share = state.get("base_url", "") + "/?" + query  # the configured base URL, never the Host header
    # summary
    tier = d.get("tier")
    reasons = "".join(f'<li>{links.rule(r.get("rule"))} {_e(r.get("message"))} {links.clauses(r.get("source"))}</li>'
                      for r in d["eligibility"].get("reasons") or [])
    ed = d["policy"].get("edition")
    out.append(
        f'<section class="panel summary" id="decision"><h2>Decision for ticket <span class="ticket-id" id="ticket-id">'
        f'{_e(d.get("ticket"))}</span></h2>'
        f'<p class="meta">policy <code>{_e(d["policy"]["id"])}</code> version {_e(d["policy"].get("version"))}'
        f'{(" · edition " + _e(ed) + " (" + _e(d["policy"].get("edition_chosen")) + ")") if ed else ""}'
        f' · hash <code>{_e(d["policy"].get("hash"))}</code>'
        f' · <a href="{_e(links.base)}">read the regulation</a></p>'
        f'<div class="cards"><div class="card"><span class="k">eligibility</span>'
        f'<span class="badge status-{_e(status)}" id="eligibility">{_e(STATUS_TEXT.get(status, status))}</span>'
        f'<ul class="reasons">{reasons}</ul></div>'
        f'<div class="card"><span class="k">tier</span>'
        + (f'<span class="v" id="tier">{_e(tier.get("name"))} <code>{_e(tier.get("id"))}</code></span>'
           f'<span class="src">{links.clauses(tier.get("source"))}</span>' if tier else
           '<span class="v" id="tier">none (not accepted)</span>')
        + '</div></div>')
    # deadlines
    rows = []
    for name, x in (d.get("deadlines") or {}).items():
        if not x:
            rows.append(f'<tr id="deadline-{_e(name)}"><th>{_e(name.replace("_", " "))}</th><td colspan="4">none open</td></tr>')
            continue
        due = _instant(x.get("due"), tz_key, "instant due") if x.get("due") else (
            '<span class="none">no guaranteed time</span>' if not x.get("not_before") else "—")
        nb = _instant(x.get("not_before"), tz_key, "instant not-before") if x.get("not_before") else ""
        extra = f' <span class="status">{_e(x["status"])}</span>' if x.get("status") else ""
        rows.append(f'<tr id="deadline-{_e(name)}"><th>{_e(name.replace("_", " "))}{extra}</th>'
                    f'<td class="due">{due}</td><td>{nb}</td><td>{_e(x.get("target"))}'
                    f'{("<br><span class=cal>" + _e(x.get("calendar")) + "</span>") if x.get("calendar") else ""}</td>'
                    f'<td>{links.clauses(x.get("source"))}</td></tr>')
    out.append('<h3>Deadlines</h3><table class="deadlines"><thead><tr><th>target</th><th>due</th><th>not before</th>'
               '<th>target and calendar</th><th>clause</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    out.append(f'<p class="share"><label for="share-url">Shareable link</label>'
               f'<input id="share-url" type="text" readonly value="{_e(share)}">'
               f'<button type="button" class="copy" data-copy="share-url">Copy</button> '
               f'<a href="/?{_e(query)}" id="share-link">open</a></p></section>')
    # timeline
    out.append(timeline_html(state, query))
    # reasons, notices, missing facts, assumptions
    delays = "".join(f'<li><code>{_e(r.get("code"))}</code> {_e(r.get("message"))} {links.rule(r.get("rule"))} '
                     f'{links.clauses(r.get("source"))}</li>' for r in d.get("delay_reasons") or [])
    notices = "".join(f'<li>{_e(r.get("message"))} {links.rule(r.get("rule"))} {links.clauses(r.get("source"))}</li>'
                      for r in d.get("notices") or [])
    missing = "".join(f"<li><code>{_e(m)}</code></li>" for m in d.get("missing_facts") or [])
    assumptions = "".join(f'<li><strong>{_e(a.get("id"))}</strong> {links.clauses(a.get("clause"))}: {_e(a.get("text"))}</li>'
                          for a in d.get("assumptions") or [])
    out.append('<section class="panel lists"><div class="col">'
               f'<h3>Delay reasons</h3><ul id="delay-reasons">{delays or "<li class=none>none</li>"}</ul>'
               f'<h3>Notices</h3><ul id="notices">{notices or "<li class=none>none</li>"}</ul>'
               f'<h3>Missing facts</h3><p class="hint">Unknown facts: a rule that needs one does not fire. '
               f'Set them in the form to see what changes.</p><ul id="missing-facts" class="inline">'
               f'{missing or "<li class=none>none</li>"}</ul></div>'
               f'<div class="col"><h3>Assumptions relied on</h3><ul id="assumptions">'
               f'{assumptions or "<li class=none>none</li>"}</ul></div></section>')
    if d.get("billing"):
        b = d["billing"]
        rates = "".join(f'<li>× {_e(r.get("multiplier"))} {_e(r.get("message"))} {links.rule(r.get("rule"))} '
                        f'{links.clauses(r.get("source"))}</li>' for r in b.get("rates") or [])
        out.append(f'<section class="panel"><h3>Billing</h3><p>minimum {_e(b.get("minimum_minutes"))} minutes '
                   f'{links.clauses(b.get("minimum_source"))}; rate × {_e(b.get("rate_multiplier"))}</p><ul>{rates}</ul></section>')
    if d.get("lifecycle"):
        out.append(lifecycle_html(d["lifecycle"], tz_key, links))
    # explanation
    rows = []
    for x in d.get("explanation") or []:
        if x.get("stage") == "deadlines":
            what = (f'{_e(x.get("target"))}: {_e(x.get("text"))}' + (f' in <code>{_e(x.get("calendar"))}</code>' if x.get("calendar") else "")
                    + (f'<br><span class="hours">{_e(x.get("hours"))}</span>' if x.get("hours") else ""))
        elif x.get("result") == "unknown":
            what = "missing: " + ", ".join(f"<code>{_e(m)}</code>" for m in x.get("missing") or [])
        else:
            facts = x.get("facts") or {}
            what = ", ".join(f"<code>{_e(k)}</code> = {_e(json.dumps(v, ensure_ascii=False))}" for k, v in facts.items())
            if x.get("default"):
                what = what or "default rule (always fires)"
            if x.get("at"):
                what += f' at {_e(x.get("at"))} → tier <code>{_e(x.get("tier"))}</code>'
        rule = links.rule(x.get("rule")) if x.get("stage") != "deadlines" else f'tier <code>{_e(x.get("rule"))}</code>'
        rows.append(f'<tr class="result-{_e(x.get("result"))}"><td>{_e(x.get("stage"))}</td><td>{rule}</td>'
                    f'<td>{_e(x.get("result"))}</td><td>{what}</td><td>{links.clauses(x.get("source"))}</td></tr>')
    out.append('<section class="panel"><h3>Explanation</h3><p class="hint">Rules in the order the engine tried them: '
               'fired, or unknown for lack of a fact. Each clause links to the regulation.</p>'
               '<table class="explanation"><thead><tr><th>stage</th><th>rule</th><th>result</th><th>facts</th>'
               '<th>clause</th></tr></thead><tbody>' + "".join(rows) + '</tbody></table>'
               f'<details><summary>The decision as JSON</summary><pre class="json">'
               f'{_e(json.dumps(d, ensure_ascii=False, indent=2))}</pre></details></section>')
    return "".join(out)


def lifecycle_html(life, tz_key, links) -> str:
    rows = []
    for name, x in (life.get("targets") or {}).items():
        rows.append(f'<tr><th>{_e(name)}</th><td><span class="badge life-{_e(x.get("status"))}">{_e(x.get("status"))}</span></td>'
                    f'<td>{_instant(x.get("due"), tz_key)}</td><td>{_instant(x.get("met_at"), tz_key) if x.get("met_at") else "—"}</td>'
                    f'<td>{_e(round((x.get("elapsed_seconds") or 0) / 3600, 2))} h</td>'
                    f'<td>{_e(round(x["remaining_seconds"] / 3600, 2)) + " h" if x.get("remaining_seconds") is not None else "—"}</td>'
                    f'<td>{_e(round((x.get("paused_seconds") or 0) / 3600, 2))} h</td></tr>')
    history = "".join(f'<li>{_e(h.get("tier"))} from {_e(h.get("from"))} {links.rule(h.get("rule"))} '
                      f'{links.clauses(h.get("source"))}</li>' for h in life.get("tier_history") or [])
    alerts = "".join(f'<li>{_e(a.get("alert"))} at {_e(a.get("at"))} {_e(a.get("target") or "")}</li>'
                     for a in life.get("alerts") or [])
    return (f'<section class="panel" id="lifecycle"><h3>Lifecycle as of {_instant(life.get("as_of"), tz_key)}</h3>'
            '<table><thead><tr><th>target</th><th>status</th><th>due</th><th>met</th><th>elapsed</th><th>remaining</th>'
            f'<th>paused</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<h4>Tier history</h4><ul>{history}</ul>' + (f'<h4>Alerts</h4><ul>{alerts}</ul>' if alerts else "") + '</section>')


def _duration(seconds) -> str:
    from slapolicy.service.workbench.timeline import _duration as d

    return d(seconds or 0)


def timeline_html(state, query) -> str:
    from slapolicy.service.workbench.timeline import render_svg

    model = state.get("timeline")
    if model is None:
        why = state.get("timeline_error") or "no timeline"
        return (f'<section class="panel timeline-panel" id="timeline"><h3>Timeline</h3>'
                f'<p class="none">{_e(why)}</p></section>')
    base = "/?" + query
    tabs = []
    for name in model.get("drawable") or []:
        cls = ' class="active"' if name == model["target"] else ""
        href = base + "&" + urllib.parse.urlencode({"target": name, **({"tz": state["tz"]} if state["tz"] else {})})
        tabs.append(f'<a{cls} href="{_e(href)}">{_e(name.replace("_", " "))}</a>')
    policy_tz = model["timezone"]
    shown_tz = model["display_timezone"]
    tz_links = [f'<a href="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"]}))}"'
                f'{" class=active" if shown_tz == policy_tz else ""}>policy time ({_e(policy_tz)})</a>',
                f'<a id="tz-viewer" data-base="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"]}))}" '
                f'href="{_e(base + "&" + urllib.parse.urlencode({"target": model["target"], "tz": "UTC"}))}"'
                f'{" class=active" if shown_tz != policy_tz else ""}>'
                f'{"your time" if shown_tz == policy_tz else _e(shown_tz)}</a>']
    specials = "".join(f'<li class="special special-{_e(s["kind"])}" data-date="{_e(s["date"])}"><strong>{_e(s["date"])}</strong> '
                       f'{_e(s.get("name") or s["kind"].replace("_", " "))}: hours {_e(s["hours"])}</li>'
                       for s in model.get("special_days") or [])
    dst = "".join(f'<li>{_instant(c["at"], shown_tz, viewer=False)}: {_e(c["timezone"])} changes from {_e(c["from"])} '
                  f'to {_e(c["to"])}</li>' for c in model.get("dst") or [])
    marks = "".join(f'<tr class="mark-{_e(m["kind"])}"><th>{_e(m["label"])}</th><td>{_instant(m["at"], policy_tz, viewer=False)}</td>'
                    f'<td class="viewer-cell" data-at="{_e(m["at_utc"])}">—</td></tr>' for m in model.get("marks") or [])
    pauses = "".join(f'<li>{_e(a)} → {_e(b)}</li>' for a, b in model.get("pauses") or [])
    counted = model["counted_seconds"]
    why = (f'{_e(model["text"])} counted in <code>{_e(model.get("calendar") or "24x7")}</code> '
           f'({_e(model["hours"])})' if not model.get("elapsed") else f'{_e(model["text"])} of elapsed time (24x7)')
    return (
        f'<section class="panel timeline-panel" id="timeline"><h3>Timeline: why it is due then</h3>'
        f'<nav class="tabs">{"".join(tabs)}<span class="sep"></span>{"".join(tz_links)}</nav>'
        f'<p class="why">{why}: from {_instant(model["start"], policy_tz, viewer=False)} to '
        f'{"due" if model["end_kind"] == "due" else "not before"} {_instant(model["end"], policy_tz, viewer=False)}; '
        f'<strong>{_e(_duration(counted))}</strong> of {"un-paused " if model.get("pauses") else ""}'
        f'{"time" if model.get("elapsed") else "open time"} counted. Rows are days in <strong>{_e(shown_tz)}</strong>.</p>'
        f'<div class="svg-wrap">{render_svg(model)}</div>'
        '<ul class="legend"><li><span class="sw sw-closed"></span>closed</li><li><span class="sw sw-open"></span>open hours</li>'
        '<li><span class="sw sw-counted"></span>counted toward the target</li><li><span class="sw sw-weekend"></span>weekend</li>'
        '<li><span class="sw sw-holiday"></span>public holiday</li><li><span class="sw sw-paused"></span>paused</li>'
        '<li><span class="sw sw-dst"></span>DST change</li></ul>'
        f'<div class="timeline-notes"><table class="marks"><thead><tr><th>mark</th><th>policy time</th>'
        f'<th>your time <span class="viewer-zone"></span></th></tr></thead><tbody>{marks}</tbody></table>'
        + (f'<div><h4>Holidays and special days</h4><ul id="special-days">{specials}</ul></div>' if specials else "")
        + (f'<div><h4>DST changes</h4><ul id="dst-changes">{dst}</ul></div>' if dst else "")
        + (f'<div><h4>Pauses</h4><ul id="pauses">{pauses}</ul></div>' if pauses else "")
        + f'</div><p class="hint"><a href="/workbench/timeline.json?{_e(query)}&amp;'
          f'{_e(urllib.parse.urlencode({"target": model["target"], **({"tz": state["tz"]} if state["tz"] else {})}))}">'
          f'the timeline as JSON</a></p></section>')
