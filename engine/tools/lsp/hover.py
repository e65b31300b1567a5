"""Hover: the clause of the regulation a rule cites, the text of an assumption, what an id or a field is.

The regulation is located through the policy's own `regulation.file` (e.g.
`shared/regulations/bitrix-ua.uk.txt`), looked up beside the policy and in each folder above it (the
bundled policies name it from the folder that holds the repository). A clause key is the leading number
of a `source` item ("3.1" of "3.1 НЕ п.2", split as slapolicy.tools.render splits them); its text is the
regulation's paragraph that starts with that number, up to the next numbered paragraph. When the text
cannot be found, the hover still shows the clause number, the rule's message and its assumptions.
"""
from __future__ import annotations

import re
from pathlib import Path

from slapolicy.tools.lsp.completion import _type_detail, field_doc, path_type
from slapolicy.tools.lsp.document import Document
from slapolicy.tools.lsp.navigation import ref_at
from slapolicy.tools.render import split_clauses

MAX_CLAUSE = 1500
_NUMBERED = re.compile(r"^\s*(\d+(?:\.\d+)*)\.?\s")


def regulation_text(doc: Document) -> str | None:
    reg = (doc.data.get("regulation") or {}) if isinstance(doc.data, dict) else {}
    name = reg.get("file") if isinstance(reg, dict) else None
    if not name:
        return None
    here = Path(doc.file).resolve().parent
    for folder in [here, *here.parents]:
        candidate = folder / str(name)
        if candidate.is_file():
            try:
                return candidate.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                return None
    return None


def clause_text(regulation: str | None, key: str) -> str | None:
    """The paragraph of the regulation numbered like the clause key's leading number, or None."""
    if not regulation:
        return None
    m = re.match(r"\s*(\d+(?:\.\d+)*)", key)
    if not m:
        return None
    number = m.group(1)
    lines = regulation.splitlines()
    for i, line in enumerate(lines):
        n = _NUMBERED.match(line)
        if n and n.group(1) == number:
            out = [line.strip()]
            for nxt in lines[i + 1:]:
                if _NUMBERED.match(nxt):
                    break
                out.append(nxt.strip())
            text = "\n".join(out).strip()
            return text if len(text) <= MAX_CLAUSE else text[:MAX_CLAUSE].rstrip() + " …"
    return None


def _owner(doc: Document, path: tuple):
    """The mapping that holds `path` (a rule, a tier, a target...) and its path."""
    data = doc.loaded.data if doc.loaded is not None else doc.data
    obj, owner, owner_path = data, None, ()
    for i, key in enumerate(path):
        if isinstance(obj, dict) and "source" in obj:
            owner, owner_path = obj, path[:i]
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(obj, dict) and "source" in obj:
        owner, owner_path = obj, path
    return owner, owner_path


def _assumption_md(a: dict) -> str:
    out = f"**assumption `{a.get('id')}`** (clause {a.get('clause', '?')})\n\n{' '.join(str(a.get('text', '')).split())}"
    if a.get("why"):
        out += f"\n\n*Why:* {' '.join(str(a['why']).split())}"
    return out


def _clauses_md(doc: Document, source) -> str:
    regulation = regulation_text(doc)
    parts = []
    for key, shown in split_clauses(source):
        text = clause_text(regulation, key)
        parts.append(f"**clause {shown}**" + ("\n\n> " + "\n> ".join(text.splitlines()) if text else
                                              " (its text was not found in the regulation file)"))
    return "\n\n".join(parts)


def hover(doc: Document, line: int, col: int) -> str | None:
    """Markdown for the 1-based position, or None."""
    ref = ref_at(doc, line, col)
    if ref is not None:
        return _id_md(doc, ref.kind, ref.name)
    word = doc.word_at(line, col)
    if word is None:
        return None
    if word[0] == "expr":
        _, path, token, _, _ = word
        if token[:1] in ("'", '"'):
            return None
        typ = path_type(doc, token)
        if typ is not None:
            desc = field_doc(token)
            return f"**{token}**: {_type_detail(typ)}" + (f"\n\n{desc}" if desc else "")
        return None
    kind, path, text, _ = word
    owner, owner_path = _owner(doc, path)
    if owner is None:
        return None
    if path and path[-1] in ("source", "id", "clause") or kind == "key":
        head = f"**{owner.get('id') or '.'.join(str(p) for p in owner_path)}**"
        if owner.get("message"):
            head += f": {' '.join(str(owner['message']).split())}"
        out = [head, _clauses_md(doc, owner.get("source"))]
        for a_id in owner.get("assumptions") or []:
            a = doc.assumption(a_id)
            if a:
                out.append(_assumption_md(a))
        return "\n\n".join(x for x in out if x)
    return None


def _id_md(doc: Document, kind: str, name: str) -> str | None:
    data = doc.data
    if kind == "assumption":
        a = doc.assumption(name)
        return _assumption_md(a) if a else f"assumption `{name}` is not declared"
    if kind == "tier":
        t = (data.get("tiers") or {}).get(name)
        if not isinstance(t, dict):
            return f"tier `{name}` is not defined"
        lines = [f"**tier `{name}`**: {t.get('name', '')}"]
        for tname, target in (t.get("targets") or {}).items():
            if isinstance(target, dict):
                what = target.get("within") or target.get("from") or ("no guarantee" if target.get("no_guarantee") else "")
                lines.append(f"- {tname}: {what}" + (f" ({target['calendar']})" if target.get("calendar") else ""))
        return "\n".join(lines) + "\n\n" + _clauses_md(doc, t.get("source"))
    if kind == "calendar":
        c = (data.get("calendars") or {}).get(name)
        if not isinstance(c, dict):
            return f"calendar `{name}` is not defined"
        text = f"**calendar `{name}`**: {_describe(doc, c)}"
        if c.get("description"):
            text += f"\n\n{' '.join(str(c['description']).split())}"
        return text + "\n\n" + _clauses_md(doc, c.get("source"))
    if kind == "definition":
        d = (data.get("definitions") or {}).get(name)
        if not isinstance(d, dict):
            return None
        return f"**definition `{name}`** = `{' '.join(str(d.get('expr', '')).split())}`\n\n" + _clauses_md(doc, d.get("source"))
    return None


def _describe(doc: Document, spec: dict) -> str:
    from slapolicy.calendar import Calendar, CalendarError

    clean = {k: v for k, v in spec.items() if k not in ("source", "assumptions", "description")}
    try:
        return Calendar.from_spec(clean, default_timezone=doc.data.get("timezone") or "UTC",
                                  base_dir=Path(doc.file).parent).describe()
    except CalendarError as exc:
        return f"(does not build: {exc})"
