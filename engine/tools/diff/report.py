"""The diff as text, Markdown (a review comment) or JSON."""
from __future__ import annotations

import json

from slapolicy.tools.diff.run import any_impact


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


def _plural(n, word) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def render_text(diffs) -> str:
    lines = []
    for d in diffs:
        lines.append(f"== {d.name}: {d.old_label or '(none)'} -> {d.new_label or '(none)'}")
        if not d.changes:
            lines.append("no semantic changes")
        lines.extend(f"  {c.line()}" for c in d.changes)
        if d.impact is not None:
            imp = d.impact
            lines.append(f"impact on {imp.tickets} tickets ({imp.source}): {_plural(imp.changed, 'decision')} change")
            lines.extend(f"  {_group_text(k, g)}" for k, g in imp.groups.items())
            if imp.with_events:
                lines.append(f"lifecycle at {imp.as_of} ({_plural(imp.with_events, 'ticket')} with events): "
                             f"{_plural(sum(g['count'] for g in imp.lifecycle.values()), 'outcome')} change")
                lines.extend(f"  {_group_text(k, g)}" for k, g in imp.lifecycle.items())
            if imp.errors:
                lines.append(f"{_plural(imp.errors, 'corpus line')} not decided (not tickets), e.g.:")
                lines.extend(f"  {e['message']}" for e in imp.error_examples[:3])
    return "\n".join(lines)


def _md(text) -> str:
    """Policy text in a Markdown line or table cell: no raw HTML (`<` and `&` as entities: no tag can open)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|").replace("\n", " ")


def _md_code(text) -> str:
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def _table(lines, groups, shift_title):
    lines.append(f"| change | tickets | {shift_title} | examples |")
    lines.append("|---|---:|---|---|")
    for label, g in groups.items():
        shift = f"{_duration(g['median_seconds'])} / {_duration(g['max_seconds'])}" if "median_seconds" in g else ""
        lines.append(f"| {_md(label)} | {g['count']} | {shift} | {_md(', '.join(map(str, g['examples'])))} |")
    lines.append("")


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
            lines.append(f"**Impact**: {imp.changed} of {imp.tickets} tickets get a different decision "
                         f"({_md(imp.source)}).")
            lines.append("")
            if imp.groups:
                _table(lines, imp.groups, "shift (median / max)")
            if imp.with_events:
                lines.append(f"**SLA outcomes at {imp.as_of}** ({_plural(imp.with_events, 'ticket')} with events): "
                             f"{_plural(sum(g['count'] for g in imp.lifecycle.values()), 'target outcome')} change.")
                lines.append("")
                if imp.lifecycle:
                    _table(lines, imp.lifecycle, "by (median / max, business time)")
            if imp.errors:
                lines.append(f"**Not decided**: {_plural(imp.errors, 'corpus line')} "
                             f"(e.g. {_md('; '.join(e['message'] for e in imp.error_examples[:3]))}).")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_json(diffs) -> str:
    return json.dumps({"policies": [d.to_json() for d in diffs], "impact": any_impact(diffs)}, ensure_ascii=False, indent=2)


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
