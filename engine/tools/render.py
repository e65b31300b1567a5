"""`slapolicy render ID --format md|html`: the regulation as a readable document, made from the policy.

`render(policy, fmt)` (policy: slapolicy.api.Policy or a CompiledPolicy; fmt "md" or "html") returns the
document: service levels with their targets and working hours (each calendar's own describe()),
working-time calendars, channels accepted and refused, acceptance rules, the scope as topic lists,
how a tier is chosen, delay reasons, notices, billing, definitions, assumptions, and an index of the
regulation's clauses with the rules that implement them (plus, when `<id>.coverage.yaml` lies beside
the policy, the clauses it does not model and why).

Both formats come from one document model (headings, paragraphs, tables, lists of inline pieces), so
they say the same thing. HTML is self-contained (inline CSS, no script, no external asset), every
text is escaped, and every clause and rule has an anchor: `id="clause-3.2"`, `id="rule-<rule id>"`,
`id="tier-<tier id>"`, `id="calendar-<name>"`, `id="assumption-<id>"`.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

TOPIC_NAMES = {
    "installation_consulting": "advice on installing the product",
    "installation_work": "installing the product or server software for the customer",
    "migration": "moving backups or the whole system between servers",
    "server_diagnostics": "diagnosing server software on the customer's machine",
    "performance_consulting": "advice on server software, settings and caching",
    "server_tuning": "configuring software on the customer's servers",
    "load_testing": "diagnostics and load testing on the customer's servers",
    "code_optimization": "optimising code of components or modules",
    "update_license_key": "licence key problems when updating",
    "update_failure": "an update installed incorrectly",
    "update_connectivity": "connection to the update server",
    "product_error": "errors of the product itself",
    "installation_error": "errors while installing the product",
    "database_error": "database errors",
    "server_software_error": "errors in the server software",
    "design_integration": "integrating the product with the site design",
    "api_usage": "using the product modules' API",
    "general_programming": "general programming questions",
    "custom_development": "custom development and customisation",
    "payment_integration": "payment system integration scripts",
    "functionality": "how the product's modules work",
    "licensing": "licensing and the licence agreement",
    "security_settings": "security configuration of the product",
    "feature_request": "wishes to improve the product or documentation",
    "billing": "payment, reconciliation of work, paperwork",
    "meeting": "arranging a meeting with a specialist",
    "basic_usage": "working with basic functionality",
    "portal_admin": "portal administration (updates, backups, users, rights)",
    "minor_fixes": "small changes after an implementation by the partner",
    "implementation_consulting": "technical consulting on the product and its implementation",
    "sysadmin": "system administration",
    "business_process_development": "new or changed business processes, solutions, modules",
    "previous_integrator_rework": "reworking what a previous integrator built",
    "staff_training": "training the customer's staff",
    "presales": "prices, requirements, ways to buy, partnership terms",
    "site_development": "building sites on the product",
    "hosting": "hosting services and hosting server configuration",
    "web_design": "web design or layout unrelated to the product",
    "third_party_software": "other vendors' software",
    "project_maintenance": "maintaining a web project built by a partner",
    "application_development": "designing and developing applications",
    "third_party_failure": "failures caused by third-party software or operating systems",
}
CHANNEL_NAMES = {"portal": "vendor's web form / helpdesk", "chat": "vendor's online chat", "email": "e-mail",
                 "phone": "phone", "skype": "Skype", "icq": "ICQ", "googletalk": "Google Talk", "forum": "forum",
                 "social": "social networks", "messenger": "an employee's personal messenger"}
STATUS_TITLES = {"in_scope": "Covered by support (in scope)", "out_of_scope": "Not covered by support (out of scope)",
                 "consultation_only": "Consultation only"}


# -- inline pieces and blocks -------------------------------------------------------------------
# inline: str (text) | ("code", s) | ("link", text, anchor) | ("b", s)
# block:  ("h", level, text, anchor) | ("p", [inline]) | ("ul", [[inline]]) | ("table", [headers], [[[inline]]])
#         | ("anchor", id)

def slug(text: str) -> str:
    s = re.sub(r"\s+", "-", str(text).strip().lower())
    s = re.sub(r"[^\w.\-]", "", s)
    return s.strip("-") or "x"


def split_clauses(source) -> list[tuple[str, str]]:
    """A `source` text -> [(clause key, shown text)]: "2, 4 Шаг 3 (SLA1)" -> [("2", "2"), ("4 Шаг 3", "4 Шаг 3 (SLA1)")]."""
    parts, depth, cur = [], 0, ""
    for ch in str(source or ""):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch in ",;" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in (p.strip() for p in parts):
        if not p:
            continue
        key = re.sub(r"\s*[(\[].*$", "", p).strip() or p
        out.append((key, p))
    return out


class _Doc:
    def __init__(self):
        self.blocks: list = []
        self.clauses: dict = {}  # clause key -> [(what, anchor)]
        self.anchors: dict = {}  # clause key -> its anchor id (unique even when two keys slug alike: "3", "¶3")

    def clause_anchor(self, key) -> str:
        if key not in self.anchors:
            base = "clause-" + slug(key)
            anchor, n = base, 2
            while anchor in self.anchors.values():
                anchor, n = f"{base}-{n}", n + 1
            self.anchors[key] = anchor
        return self.anchors[key]

    def h(self, level, text, anchor=None):
        self.blocks.append(("h", level, text, anchor))

    def p(self, *inlines):
        self.blocks.append(("p", list(inlines)))

    def ul(self, items):
        if items:
            self.blocks.append(("ul", items))

    def table(self, headers, rows):
        if rows:
            self.blocks.append(("table", headers, rows))
        else:
            self.p("None.")

    def cite(self, source, what, anchor) -> list:
        """Inline clause links for a `source`, remembering who cites each clause."""
        out = []
        for key, shown in split_clauses(source):
            self.clauses.setdefault(key, []).append((what, anchor))
            if out:
                out.append(", ")
            out.append(("link", shown, self.clause_anchor(key)))
        return out


def _when(rule) -> list:
    return [("code", " ".join(str(rule["when"]).split()))] if "when" in rule else ["always (default)"]


def _target(t) -> str:
    if not t:
        return "—"
    if t.get("no_guarantee"):
        return "no guaranteed time"
    if "within" in t:
        return f"within {t['within']}"
    return f"not before {t['from']} (no maximum)"


def _calendar_text(compiled, name) -> str:
    cal = compiled.calendars.get(name)
    try:
        return cal.describe()
    except Exception:  # noqa: BLE001 - fall back to the spec text
        spec = (compiled.data.get("calendars") or {}).get(name) or {}
        return str(spec.get("week"))


def build(compiled) -> _Doc:
    from slapolicy.tools.lint import channel_acceptance, topic_scope

    d = compiled.data
    doc = _Doc()
    doc.h(1, d["title"], "top")
    reg = d.get("regulation") or {}
    meta = [f"Policy {d['id']}, version {d['version']}"]
    if d.get("effective_from"):
        meta.append(f"in force from {d['effective_from']}")
    if reg.get("edition"):
        meta.append(f"edition {reg['edition']}")
    meta.append(f"times in {d['timezone']}")
    if compiled.content_hash:
        meta.append(f"policy hash {compiled.content_hash}")
    doc.p("; ".join(meta) + ".")
    if reg.get("file") or reg.get("url"):
        doc.p("Regulation text: ", *([("code", reg["file"])] if reg.get("file") else []),
              *([" ", ("link", reg["url"], reg["url"])] if reg.get("url") else []),
              *([f" ({reg['language']})"] if reg.get("language") else []))
    if reg.get("notes"):
        doc.p("Notes: " + " ".join(str(reg["notes"]).split()))

    # service levels
    doc.h(2, "Service levels", "service-levels")
    tiers = d.get("tiers") or {}
    other_targets = sorted({n for t in tiers.values() for n in (t.get("targets") or {}) if n != "first_response"})
    rows = []
    for tid, t in tiers.items():
        targets = t.get("targets") or {}
        first = targets.get("first_response")
        cal = (first or {}).get("calendar")
        hours = _calendar_text(compiled, cal) if cal else ("elapsed time, 24x7" if first and not first.get("no_guarantee") else "—")
        row = [[("b", t["name"]), " ", ("anchor_code", tid, "tier-" + slug(tid))], [_target(first)]]
        row += [[_target(targets.get(n))] for n in other_targets]
        row += [[("link", cal, "calendar-" + slug(cal)), ": " + hours] if cal else [hours],
                doc.cite(t.get("source"), f"tier {tid}", "tier-" + slug(tid))]
        rows.append(row)
    doc.table(["service level", "first response"] + [n.replace("_", " ") for n in other_targets] + ["working hours", "clause"], rows)
    doc.h(3, "How the service level is chosen (first matching rule)", "tier-rules")
    doc.table(["#", "rule", "when", "service level", "clause"], [
        [[str(i + 1)], [("anchor_code", r["id"], "rule-" + slug(r["id"]))], _when(r),
         [("link", (tiers.get(r["tier"]) or {}).get("name", r["tier"]), "tier-" + slug(r["tier"]))],
         doc.cite(r.get("source"), f"tier rule {r['id']}", "rule-" + slug(r["id"]))]
        for i, r in enumerate(d.get("tier_rules") or [])])

    # working time
    doc.h(2, "Working time", "working-time")
    rows = []
    for name, spec in (d.get("calendars") or {}).items():
        extra = []
        if spec.get("holidays") and str(spec["holidays"]).lower() != "none":
            extra.append(f"public holidays of {spec['holidays']}: " + (spec["holiday_hours"] if spec.get("holiday_hours") else "closed"))
        if spec.get("overrides"):
            extra.append("special days: " + ", ".join(f"{k} {v}" for k, v in spec["overrides"].items()))
        rows.append([[("anchor_code", name, "calendar-" + slug(name))], [_calendar_text(compiled, name)],
                     [spec.get("timezone") or d["timezone"]], ["; ".join(extra) or "—"],
                     [spec.get("description") or ""], doc.cite(spec.get("source"), f"calendar {name}", "calendar-" + slug(name))])
    doc.table(["calendar", "hours", "time zone", "holidays and special days", "description", "clause"], rows)

    # channels and acceptance
    doc.h(2, "How to send a request", "channels")
    verdicts = channel_acceptance(compiled)
    accepted = [c for c, refused in verdicts.items() if not refused]
    refused = [(c, r) for c, r in verdicts.items() if r]
    doc.p(("b", "Accepted channels:"), " ", ", ".join(f"{c} ({CHANNEL_NAMES.get(c, c)})" for c in accepted) or "none")
    if refused:
        doc.ul([[("b", c), f" ({CHANNEL_NAMES.get(c, c)}): not accepted, rule ", ("link", r[0].id, "rule-" + slug(r[0].id))]
                for c, r in refused])
    doc.h(3, "When a request is not accepted", "acceptance")
    doc.table(["rule", "when", "what the customer is told", "clause"], [
        [[("anchor_code", r["id"], "rule-" + slug(r["id"]))], _when(r), [" ".join(str(r.get("message", "")).split())],
         doc.cite(r.get("source"), f"acceptance rule {r['id']}", "rule-" + slug(r["id"]))]
        for r in d.get("acceptance") or []])

    # scope
    doc.h(2, "What support covers", "scope")
    by_status: dict = {}
    undecided = []
    for topic, rule in topic_scope(compiled).items():
        if rule is None:
            undecided.append(topic)
        else:
            by_status.setdefault(rule.status, []).append((topic, rule))
    for status in ("in_scope", "out_of_scope", "consultation_only"):
        if status in by_status:
            doc.h(3, STATUS_TITLES[status], "scope-" + status.replace("_", "-"))
            doc.ul([[("b", TOPIC_NAMES.get(t, t)), " ", ("code", t), " — rule ", ("link", r.id, "rule-" + slug(r.id))]
                    for t, r in by_status[status]])
    if undecided:
        doc.p("Decided by other facts than the topic: " + ", ".join(undecided) + ".")
    doc.h(3, "Scope rules (first matching rule)", "scope-rules")
    doc.table(["#", "rule", "when", "result", "clause"], [
        [[str(i + 1)], [("anchor_code", r["id"], "rule-" + slug(r["id"]))], _when(r),
         [STATUS_TITLES.get(r["status"], r["status"])] + ([": " + " ".join(str(r["message"]).split())] if r.get("message") else []),
         doc.cite(r.get("source"), f"scope rule {r['id']}", "rule-" + slug(r["id"]))]
        for i, r in enumerate(d.get("scope") or [])])

    # delay reasons, notices, billing
    doc.h(2, "When an answer may take longer", "delay-reasons")
    doc.table(["rule", "reason", "when", "explanation", "clause"], [
        [[("anchor_code", r["id"], "rule-" + slug(r["id"]))], [("code", r["code"])], _when(r),
         [" ".join(str(r.get("message") or "").split())], doc.cite(r.get("source"), f"delay reason {r['id']}", "rule-" + slug(r["id"]))]
        for r in d.get("delay_reasons") or []])
    if d.get("notices"):
        doc.h(2, "Notices to the customer", "notices")
        doc.table(["rule", "when", "notice", "clause"], [
            [[("anchor_code", r["id"], "rule-" + slug(r["id"]))], _when(r), [" ".join(str(r.get("message", "")).split())],
             doc.cite(r.get("source"), f"notice {r['id']}", "rule-" + slug(r["id"]))]
            for r in d["notices"]])
    billing = d.get("billing") or {}
    if billing:
        doc.h(2, "Billing", "billing")
        if billing.get("minimum_minutes"):
            m = billing["minimum_minutes"]
            doc.p(f"Minimum billable time: {m['value']} minutes (clause ", *doc.cite(m.get("source"), "billing minimum", "billing"), ").")
        doc.table(["rule", "when", "rate", "clause"], [
            [[("anchor_code", r["id"], "rule-" + slug(r["id"]))], _when(r), [f"× {r['multiplier']}"],
             doc.cite(r.get("source"), f"billing rate {r['id']}", "rule-" + slug(r["id"]))]
            for r in billing.get("rates") or []])

    # definitions and assumptions
    if d.get("definitions"):
        doc.h(2, "Definitions", "definitions")
        doc.table(["name", "meaning", "expression", "clause"], [
            [[("anchor_code", name, "definition-" + slug(name))], [str(x.get("description") or "")],
             [("code", " ".join(str(x["expr"]).split()))], doc.cite(x.get("source"), f"definition {name}", "definition-" + slug(name))]
            for name, x in d["definitions"].items()])
    if d.get("assumptions"):
        doc.h(2, "How unclear text is read (assumptions)", "assumptions")
        for a in d["assumptions"]:
            doc.h(3, a["id"], "assumption-" + slug(a["id"]))
            doc.p(" ".join(str(a["text"]).split()))
            doc.p(("b", "Why:"), " ", " ".join(str(a["why"]).split()), " (clause ", *doc.cite(a.get("clause"), f"assumption {a['id']}",
                                                                                        "assumption-" + slug(a["id"])), ")")

    # clause index
    coverage = _coverage(compiled)
    doc.h(2, "Clauses of the regulation", "clauses")
    for key, _ in (coverage or []):
        doc.clauses.setdefault(key, [])
    rows = []
    not_modelled = {k: why for k, why in coverage or [] if why}
    for key in sorted(doc.clauses, key=_natural):
        cited = doc.clauses[key]
        seen, links = set(), []
        for what, anchor in cited:
            if (what, anchor) in seen:
                continue
            seen.add((what, anchor))
            if links:
                links.append(", ")
            links.append(("link", what, anchor))
        rows.append([[("anchor_text", key, doc.clause_anchor(key))], links or ["not modelled: " + not_modelled.get(key, "—")]])
    doc.table(["clause", "implemented by"], rows)
    return doc


def _natural(key: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", key) if p]


def _coverage(compiled):
    """[(clause key, why not modelled or None)] from <id>.coverage.yaml beside the policy, if any."""
    try:
        import yaml

        path = Path(compiled.file)
        cov = path.with_name(path.name.split("@")[0].replace(".yaml", "") + ".coverage.yaml")
        if not cov.is_file():
            return None
        entries = yaml.safe_load(cov.read_text("utf-8")) or []
    except Exception:  # noqa: BLE001 - the coverage list is optional
        return None
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and e.get("clause"):
            for key, _ in split_clauses(e["clause"]):
                out.append((key, " ".join(str(e["not_modelled"]).split()) if e.get("not_modelled") else None))
    return out


# -- renderers ----------------------------------------------------------------------------------

def _mde(text) -> str:
    """Policy text in Markdown: no raw HTML (`<` and `&` as entities, which a Markdown viewer shows as
    written; without `<` no tag can open, so `>` and "->" stay as they are)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;")


def _md_code(text) -> str:
    return "`" + str(text).replace("`", "'") + "`"  # inside a code span HTML is not interpreted


def _md_inline(pieces, cell=False) -> str:
    out = []
    for p in pieces:
        if isinstance(p, str):
            text = _mde(p)
        elif p[0] == "code":
            text = _md_code(p[1])
        elif p[0] == "b":
            text = f"**{_mde(p[1])}**"
        elif p[0] == "link":
            # only http(s) links leave the document (as in the HTML); anything else is an anchor in it
            target = p[2] if re.match(r"^https?://", p[2]) else "#" + p[2]
            target = target.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
            text = f"[{_mde(p[1]).replace('[', '&#91;').replace(']', '&#93;')}]({target})"
        elif p[0] == "anchor_code":
            text = f'<a id="{html.escape(p[2])}"></a>{_md_code(p[1])}'
        elif p[0] == "anchor_text":
            text = f'<a id="{html.escape(p[2])}"></a>{_mde(p[1])}'
        else:
            text = _mde(p[1])
        out.append(text)
    s = "".join(out)
    return s.replace("|", "\\|").replace("\n", " ") if cell else s


def to_markdown(doc: _Doc) -> str:
    lines = []
    for b in doc.blocks:
        if b[0] == "h":
            anchor = f'<a id="{html.escape(b[3])}"></a>' if b[3] else ""
            lines += [f"{'#' * b[1]} {anchor}{_mde(b[2])}", ""]
        elif b[0] == "p":
            lines += [_md_inline(b[1]), ""]
        elif b[0] == "ul":
            lines += [f"- {_md_inline(item)}" for item in b[1]] + [""]
        elif b[0] == "table":
            lines.append("| " + " | ".join(_mde(h) for h in b[1]) + " |")
            lines.append("|" + "---|" * len(b[1]))
            lines += ["| " + " | ".join(_md_inline(c, cell=True) for c in row) + " |" for row in b[2]]
            lines.append("")
        elif b[0] == "anchor":
            lines += [f'<a id="{html.escape(b[1])}"></a>', ""]
    return "\n".join(lines).rstrip() + "\n"


def _html_inline(pieces) -> str:
    e = html.escape
    out = []
    for p in pieces:
        if isinstance(p, str):
            out.append(e(p))
        elif p[0] == "code":
            out.append(f"<code>{e(p[1])}</code>")
        elif p[0] == "b":
            out.append(f"<strong>{e(p[1])}</strong>")
        elif p[0] == "link":
            href = p[2] if re.match(r"^https?://", p[2]) else "#" + p[2]
            out.append(f'<a href="{e(href, quote=True)}">{e(p[1])}</a>')
        elif p[0] == "anchor_code":
            out.append(f'<code id="{e(p[2], quote=True)}">{e(p[1])}</code>')
        elif p[0] == "anchor_text":
            out.append(f'<span id="{e(p[2], quote=True)}">{e(p[1])}</span>')
        else:
            out.append(e(str(p[1])))
    return "".join(out)


CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d1d1f}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.6em 0 1.2em}th,td{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f5f5f7}code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f5f5f7;padding:0 .2em;border-radius:3px}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}:target{background:#fff3b0}
@media print{a{color:inherit}body{margin:0;max-width:none}}
""".strip()


def to_html(doc: _Doc, title: str, lang: str = "en") -> str:
    e = html.escape
    body = []
    for b in doc.blocks:
        if b[0] == "h":
            anchor = f' id="{e(b[3], quote=True)}"' if b[3] else ""
            body.append(f"<h{b[1]}{anchor}>{e(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            body.append(f"<p>{_html_inline(b[1])}</p>")
        elif b[0] == "ul":
            body.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in b[1]) + "</ul>")
        elif b[0] == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>" for row in b[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b[0] == "anchor":
            body.append(f'<span id="{e(b[1], quote=True)}"></span>')
    return ("<!DOCTYPE html>\n"
            f'<html lang="{e(lang, quote=True)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def render(policy, fmt: str = "md") -> str:
    """The policy as a readable document: fmt "md" (Markdown) or "html" (a self-contained page)."""
    compiled = getattr(policy, "compiled", policy)
    doc = build(compiled)
    if fmt in ("md", "markdown"):
        return to_markdown(doc)
    if fmt == "html":
        lang = ((compiled.data.get("regulation") or {}).get("language") or "en").split("-")[0]
        return to_html(doc, compiled.data["title"], lang)
    raise ValueError(f"unknown format {fmt!r}: md or html")
