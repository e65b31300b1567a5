"""HTML of the timeline, the regulation and the diff report pages."""
from __future__ import annotations

import importlib.util
import re
import urllib.parse
from pathlib import Path

from slapolicy.service.workbench.model import PageError, _e, log
from slapolicy.service.workbench.pages import _duration, _policy_select

_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~^/@{}+\-]{0,99}$")


# -- the regulation -------------------------------------------------------------------------------
def regulation_body(compiled) -> dict:
    """{"html": the body of slapolicy.tools.render's page, "rendered": bool, "notice": str | None}."""
    if importlib.util.find_spec("slapolicy.tools.render") is not None:
        try:
            from slapolicy.tools.render import render

            return {"html": _body_of(render(compiled, "html")), "rendered": True, "notice": None}
        except Exception:  # noqa: BLE001 - the page must not go down with the renderer
            log.exception("slapolicy.tools.render failed for policy '%s'", compiled.id)
            notice = "engine/tools/render.py failed on this policy (see the server log); a plain view without clause anchors follows."
    else:
        notice = "engine/tools/render.py is not installed in this build: a plain view without clause anchors follows."
    from slapolicy.service.render import fallback_html

    return {"html": _body_of(fallback_html(compiled.data, compiled.content_hash)), "rendered": False, "notice": notice}


def _body_of(document: str) -> str:
    """The inside of <body> of a whole HTML document (its own <style> is left out: the page has ours)."""
    lo = re.search(r"<body[^>]*>", document, re.IGNORECASE)
    hi = document.lower().rfind("</body>")
    if lo is None or hi < 0:
        return document
    return document[lo.end():hi]


def regulation_page(policy, compiled, body, policies) -> str:
    picker = (f'<form class="inline" method="get" action="/workbench/regulation/{_e(urllib.parse.quote(policy.id, safe=""))}" '
              f'id="regulation-picker"><label for="f-policy">policy</label>'
              f'{_policy_select(policies, policy.id, attrs=" data-navigate=regulation")}'
              + ('<label for="f-reg-edition">edition</label><select name="edition" id="f-reg-edition">' + "".join(
                  f'<option value="{_e(n or "current")}"{" selected" if c is compiled else ""}>{_e(n or "current")} '
                  f'(version {_e(c.version)})</option>' for n, c in policy.editions) + "</select>"
                 if len(policy.editions) > 1 else "")
              + '<button type="submit">Show</button></form>')
    notice = (f'<p class="notice">{_e(body["notice"])}</p>' if body["notice"] else
              '<p class="hint">Every clause has an anchor (<code>#clause-…</code>) and every rule one (<code>#rule-…</code>): '
              'a rule links to its clauses, and the clause index at the end links back to the rules that implement each '
              'clause. The decision page links here.</p>')
    return (f'<section class="panel regulation-head">{picker}{notice}'
            f'<p><a href="/?policy={_e(urllib.parse.quote(policy.id, safe=""))}">Try a ticket with this policy</a></p></section>'
            f'<article class="regulation panel" id="regulation">{body["html"]}</article>')


# -- the diff report ------------------------------------------------------------------------------
def recent_revisions(directory) -> list:
    """[(short hash, subject)] of the last commits that touched the policies directory ([] without git)."""
    import subprocess

    try:
        proc = subprocess.run(["git", "log", "-n", "15", "--format=%h%x09%ad%x09%s", "--date=short", "--", "."],
                              cwd=directory, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if proc.returncode != 0:
        return []
    return [tuple(line.split("\t", 2)) for line in proc.stdout.splitlines() if line.count("\t") >= 2]


def _repo_top(directory) -> tuple:
    """(the repository's top directory, the policies directory relative to it); PageError without git."""
    import subprocess

    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PageError(422, f"git is not available: {exc}") from None
    if proc.returncode != 0:
        raise PageError(422, f"the policies directory {directory} is not in a git repository")
    top = Path(proc.stdout.strip()).resolve()
    return top, Path(directory).resolve().relative_to(top).as_posix()


def run_diff(directory, state, policies) -> dict:
    from slapolicy.tools import diff as diffmod

    old, new, pid = state["old"], state["new"], state["policy"]
    for label, rev in (("old", old), ("new", new)):
        if rev and (not _REVISION.match(rev) or ".." in rev):
            raise PageError(422, f"{label}: '{rev}' is not a git revision name (e.g. HEAD~1, main, a commit hash)")
    if pid and pid not in policies:
        raise PageError(422, f"policy: unknown policy '{pid}' (served: {', '.join(sorted(policies))})")
    try:
        n = max(1, min(2000, int(state["n"])))
    except ValueError:
        raise PageError(422, f"n: '{state['n']}' is not a number of tickets") from None
    state["n"] = str(n)
    # git paths from the top of the repository (git ls-tree filters by the working directory when run below it)
    top, where = _repo_top(directory)
    rel = "/".join(p for p in (where, f"{pid}.yaml" if pid else "") if p and p != ".") or "."
    old_spec = f"{old}:{rel}"
    new_spec = f"{new}:{rel}" if new else str(Path(directory) / f"{pid}.yaml") if pid else str(Path(directory))
    try:
        diffs = diffmod.diff(old_spec, new_spec, n=n, cwd=top)
    except diffmod.DiffError as exc:
        raise PageError(422, f"slapolicy diff: {exc}") from None
    renderers = getattr(diffmod, "RENDERERS", {})
    markdown = renderers["markdown"](diffs) if "markdown" in renderers else diffmod.render_markdown(diffs)
    html_report = None
    html_fn = renderers.get("html") or getattr(diffmod, "render_html", None)
    if html_fn is not None:
        html_report = _body_of(html_fn(diffs))
    return {"diffs": [d.to_json() for d in diffs], "markdown": markdown, "html": html_report,
            "old": old_spec, "new": new_spec, "links": _example_links(diffmod, diffs, old_spec, new_spec, top, n)}


def _example_links(diffmod, diffs, old_spec, new_spec, top, n) -> dict:
    """policy -> example ticket id -> the try page deciding that ticket (the diff's generated corpus, seed 0,
    drawn again for the examples it names)."""
    from slapolicy.service.workbench.form import share_query

    wanted = {d.name: {ex for g in d.impact.to_json().get("changes") or [] for ex in g.get("examples") or []}
              for d in diffs if d.impact is not None}
    if not any(wanted.values()):
        return {}
    old_files, new_files = diffmod.resolve(old_spec, new_spec, top), diffmod.resolve(new_spec, old_spec, top)
    if len(old_files) == 1 and len(new_files) == 1:  # as diff() pairs two single files
        old_files[next(iter(new_files))] = old_files.pop(next(iter(old_files)))
    old_c, new_c = diffmod.compile_side(old_files), diffmod.compile_side(new_files)
    links: dict = {}
    for name, ids in wanted.items():
        if ids and name in old_c and name in new_c:
            for ticket in diffmod.generated_corpus(old_c[name], new_c[name], n, 0):
                if ticket.get("id") in ids:
                    links.setdefault(name, {})[ticket["id"]] = "/?" + share_query(name, ticket)
    return links


def diff_page(state, policies) -> str:
    revs = "".join(f'<option value="{_e(h)}">{_e(day)} {_e(subject)}</option>' for h, day, subject in state["revisions"])
    pol = ('<option value="">all policies</option>' + "".join(
        f'<option value="{_e(p)}"{" selected" if p == state["policy"] else ""}>{_e(p)}</option>' for p in sorted(policies)))
    head = (
        '<section class="panel"><h1>Diff report</h1>'
        '<p class="hint">What a policy change says (semantic changes, each with its clause) and what it does to tickets '
        '(a generated corpus decided by both sides), as <code>slapolicy diff</code> reports it. Give two git revisions of '
        'the policies directory; leave “new” empty for the files being served now.</p>'
        '<form method="get" action="/workbench/diff" class="diff-form" id="diff-form">'
        f'<label for="f-old">old revision</label><input id="f-old" name="old" list="revisions" value="{_e(state["old"])}" '
        'placeholder="e.g. HEAD~1" required>'
        f'<label for="f-new">new revision</label><input id="f-new" name="new" list="revisions" value="{_e(state["new"])}" '
        'placeholder="empty: the served files">'
        f'<label for="f-diff-policy">policy</label><select id="f-diff-policy" name="policy">{pol}</select>'
        f'<label for="f-n">tickets</label><input id="f-n" name="n" type="number" min="1" max="2000" value="{_e(state["n"])}">'
        f'<button type="submit">Compare</button><datalist id="revisions">{revs}</datalist></form>'
        + ('<p class="hint">Recent commits of the policies: ' + ", ".join(
            f'<code>{_e(h)}</code> {_e(s)}' for h, _, s in state["revisions"][:5]) + "</p>" if state["revisions"] else
           '<p class="hint">The policies directory is not in a git repository (or git is missing): only revisions can be compared.</p>')
        + '</section>')
    if not state["available"]:
        return head + ('<section class="panel"><p class="notice" id="diff-unavailable">engine/tools/diff.py (slapolicy diff) is '
                       'not installed in this build: the diff report cannot be shown here.</p></section>')
    if state["error"]:
        return head + f'<section class="panel error-panel"><p class="error" id="diff-error">{_e(state["error"])}</p></section>'
    report = state["report"]
    if report is None:
        return head
    if report["html"] is not None:
        body = f'<div class="diff-html">{report["html"]}</div>'
    else:
        body = "".join(_diff_policy_html(d, report.get("links", {}).get(d.get("policy")) or {})
                       for d in report["diffs"]) or "<p>No policy files on either side.</p>"
    return (head + f'<section class="panel" id="diff-report"><h2><code>{_e(report["old"])}</code> → '
            f'<code>{_e(report["new"])}</code></h2>{body}'
            f'<details><summary>The report as Markdown (<code>slapolicy diff --format markdown</code>)</summary>'
            f'<pre class="json" id="diff-markdown">{_e(report["markdown"])}</pre></details></section>')


_BEFORE_AFTER = re.compile(r"^(.*? changed: )(.*) -> (.*)$", re.S)


def _change_text(text) -> str:
    """A change line, its before and after marked (<del> / <ins>) when it is 'X changed: A -> B'."""
    m = _BEFORE_AFTER.match(str(text or ""))
    if not m:
        return _e(text)
    return f'{_e(m.group(1))}<del class="before">{_e(m.group(2))}</del> → <ins class="after">{_e(m.group(3))}</ins>'


def _example(ticket_id, links: dict) -> str:
    href = links.get(ticket_id)
    return f'<a href="{_e(href)}">{_e(ticket_id)}</a>' if href else _e(ticket_id)


def _diff_policy_html(d: dict, links: dict | None = None) -> str:
    changes = "".join(f'<li><span class="kind">{_e(c.get("kind"))}</span> {_change_text(c.get("text"))}'
                      + (f' <span class="clause">§ {_e(c["clause"])}</span>' if c.get("clause") else "") + "</li>"
                      for c in d.get("changes") or [])
    out = [f'<h3>Policy <code>{_e(d.get("policy"))}</code>: <code>{_e(d.get("old") or "(none)")}</code> → '
           f'<code>{_e(d.get("new") or "(none)")}</code></h3>',
           f'<ul class="changes">{changes}</ul>' if changes else '<p class="none">No semantic changes.</p>']
    imp = d.get("impact")
    if imp:
        rows = "".join(f'<tr><td>{_e(g.get("change"))}</td><td class="num">{_e(g.get("count"))}</td>'
                       f'<td>{_e(_duration(g["median_seconds"]) + " / " + _duration(g["max_seconds"])) if "median_seconds" in g else ""}</td>'
                       f'<td>{", ".join(_example(x, links or {}) for x in g.get("examples") or [])}</td></tr>'
                       for g in imp.get("changes") or [])
        out.append(f'<p><strong>Impact</strong>: {_e(imp.get("changed"))} of {_e(imp.get("tickets"))} tickets get a '
                   f'different decision ({_e(imp.get("corpus"))}).</p>')
        if rows:
            out.append('<table><thead><tr><th>change</th><th>tickets</th><th>shift (median / max)</th><th>examples</th>'
                       f'</tr></thead><tbody>{rows}</tbody></table>')
    return "".join(out)
