"""slapolicy render: a publishable document made from the policy (Markdown and self-contained HTML)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.api import load_policy
from slapolicy.tools.render import build, render, slug, split_clauses

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
BUNDLED = sorted(p for p in (ROOT / "policies").glob("*.yaml") if p.name.count(".") == 1 and "@" not in p.name)
POLICIES = BUNDLED + [TOOLS / "shop.yaml", ROOT / "tests" / "fixtures" / "mini.yaml"]


class _Page(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.hrefs, self.tags, self.stack, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _sources(data):
    """Every `source` / `clause` text of a policy."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("source", "clause") and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(data)
    return out


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_html_is_self_contained_well_formed_and_linked(path):
    policy = load_policy(str(path))
    page = render(policy, "html")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], parser.stack  # every element closed
    assert not [t for t, a in parser.tags if t in ("script", "link", "img", "iframe")]
    assert not re.search(r"\bsrc=", page)
    ids = set(parser.ids)
    assert len(ids) == len(parser.ids), "duplicate ids"
    for href in parser.hrefs:  # every internal link lands on an anchor
        if href.startswith("#"):
            assert href[1:] in ids, href
        else:
            assert href == (policy.compiled.data.get("regulation") or {}).get("url"), href
    data = policy.compiled.data
    anchors = build(policy.compiled).anchors
    for source in _sources(data):
        for key, _ in split_clauses(source):
            assert anchors[key] in ids and anchors[key].startswith("clause-"), (source, key)
    text = "".join(parser.text)
    for tid, tier in data["tiers"].items():
        assert f"tier-{slug(tid)}" in ids and tier["name"] in text
        first = tier["targets"].get("first_response") or {}
        if "within" in first:
            assert f"within {first['within']}" in text
        for cal in [first.get("calendar")] if first.get("calendar") else []:
            assert policy.compiled.calendars[cal].describe() in text
    for group in ("acceptance", "scope", "tier_rules", "delay_reasons", "notices"):
        for rule in data.get(group) or []:
            assert f"rule-{slug(rule['id'])}" in ids


def md_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_markdown_has_the_same_content(path):
    policy = load_policy(str(path))
    md = render(policy, "md")
    data = policy.compiled.data
    # policy text is never raw HTML in Markdown: < and & as entities (a viewer shows them as written)
    assert md.startswith(f"# <a id=\"top\"></a>{md_text(data['title'])}")
    for tier in data["tiers"].values():
        assert md_text(tier["name"]) in md
    for name in data["calendars"]:
        assert md_text(policy.compiled.calendars[name].describe()) in md
    for a in data.get("assumptions") or []:
        assert f'<a id="assumption-{slug(a["id"])}"></a>' in md
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert tables
    for table in tables:  # every row has as many cells as the header: pipes inside cells are escaped
        widths = {len(re.split(r"(?<!\\)\|", line)) - 2 for line in table}
        assert len(widths) == 1, table


def test_html_escapes_everything_from_the_policy():
    page = render(load_policy(str(TOOLS / "shop.yaml")), "html")
    assert "<terms>" not in page and "&lt;terms&gt;" in page
    assert "&lt;other&gt; channels" in page and "&amp; not answered" in page
    assert 'href="https://example.com/terms?a=1&amp;b=&lt;2&gt;"' in page
    assert "<title>Shop support &lt;terms&gt; &amp; &quot;conditions&quot;</title>" in page
    assert '<span id="clause-3.2">3.2</span>' in page and 'href="#clause-3.2"' in page
    assert '<code id="rule-vip-partners">vip-partners</code>' in page


def test_scope_lists_topics_by_status():
    md = render(load_policy(str(TOOLS / "shop.yaml")), "md")
    out_of_scope = md.split("Not covered by support (out of scope)")[1].split("###")[0]
    assert "`migration`" in out_of_scope and "`web_design`" in out_of_scope and "`billing`" not in out_of_scope
    assert "Accepted channels:** portal" in md
    assert "**phone** (phone): not accepted, rule [unofficial-channel](#rule-unofficial-channel)" in md


def test_cli_render(tmp_path):
    out = tmp_path / "shop.html"
    res = CliRunner().invoke(cli.main, ["render", str(TOOLS / "shop.yaml"), "--format", "html", "--out", str(out)])
    assert res.exit_code == 0 and out.read_text("utf-8").startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(cli.main, ["render", str(TOOLS / "shop.yaml")])
    assert res.exit_code == 0 and res.stdout.startswith("# ")
    res = CliRunner().invoke(cli.main, ["render", "no-such-policy"])
    assert res.exit_code == 2 and "unknown policy" in res.stderr
