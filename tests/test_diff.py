"""slapolicy diff: semantic changes with clauses, and the impact on a ticket corpus, in the right direction."""
import datetime as dt
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.api import load_policy, parse_timestamp
from slapolicy.decide.evaluate import evaluate
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.load import load_yaml
from slapolicy.tools.corpus import generate
from slapolicy.tools.diff import diff, render_markdown, render_text
from slapolicy.tools.lint import topic_scope

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
BUNDLED = sorted(p for p in (ROOT / "policies").glob("*.yaml") if p.name.count(".") == 1 and "@" not in p.name)
POLICIES = BUNDLED + [TOOLS / "shop.yaml"]
N, SEED = 600, 11


def _smaller(text: str) -> str:
    """A strictly shorter target: 24 business hours -> 3 business hours, 2 business hours -> 1 ..."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s+(.*?)(minutes?|hours?|days?)\s*", text)
    number, kind, unit = float(m.group(1)), m.group(2), m.group(3)
    if number >= 2:
        return f"{max(1, int(number // 8))} {kind}{unit}"
    smaller_unit = {"day": "hours", "days": "hours", "hour": "minutes", "hours": "minutes"}[unit]
    return f"1 {kind}{smaller_unit}"


def _mutations(path):
    """How to cut a target of a policy and which topic to move out of scope.

    The tier is the one most accepted tickets of a corpus reach, preferring tiers with a `within` target
    (cut: 24 business hours -> 3 business hours, the direction: due earlier); a policy that guarantees no
    time anywhere gets a `within` target instead (the direction: a deadline appears). The topic is the
    commonest one that is in scope. Returns (data, tier, old text, new target, expected impact group, topic)."""
    policy = load_policy(str(path))
    data = load_yaml(path.read_text("utf-8"), path.name).data  # keys stay text (`on:` is not True)
    decisions = [(t, policy.evaluate(t, explain=False)) for t in generate(policy, N, SEED)]
    reached = Counter(d["tier"]["id"] for _, d in decisions if d.get("tier"))
    within = [t for t, _ in reached.most_common() if "within" in (data["tiers"][t]["targets"].get("first_response") or {})]
    if within:
        tier = within[0]
        target = dict(data["tiers"][tier]["targets"]["first_response"])
        old, target["within"] = target["within"], _smaller(target["within"])
        group = "first response due earlier"
    else:
        tier = reached.most_common(1)[0][0]
        old = dict(data["tiers"][tier]["targets"]["first_response"])
        target = {k: v for k, v in old.items() if k not in ("no_guarantee", "from")}
        target["within"] = "3 business hours" if target.get("calendar") else "3 hours"
        old = "no guarantee" if old.get("no_guarantee") else f"from {old['from']}"
        group = "first response deadline added"
    in_scope = {t for t, r in topic_scope(policy.compiled).items() if r is not None and r.status == "in_scope"}
    topics = Counter(t.get("topic") for t, d in decisions
                     if d["eligibility"]["status"] == "in_scope" and t.get("topic") in in_scope)
    return data, tier, old, target, group, topics.most_common(1)[0][0]


def _write(tmp_path, data, name):
    out = tmp_path / name
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return out


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_target_cut_and_topic_moved_out(tmp_path, path):
    data, tier, old, target, group, topic = _mutations(path)
    data["tiers"][tier]["targets"]["first_response"] = target
    data["scope"].insert(0, {"id": "moved-out-for-test", "when": f'topic == "{topic}"', "status": "out_of_scope",
                             "source": "test"})
    mutated = _write(tmp_path, data, path.name)
    (result,) = diff(str(path), str(mutated), n=N, seed=SEED)
    lines = [c.line() for c in result.changes]
    assert any(f"tier '{tier}' first response target changed: {'within ' if group.endswith('earlier') else ''}{old}" in x
               and f"-> within {target['within']}" in x for x in lines), lines
    assert any(f"topic '{topic}' moved from in scope to out of scope" in x for x in lines), lines
    assert any("scope rule 'moved-out-for-test' added" in x for x in lines), lines
    groups = result.impact.groups
    assert result.impact.tickets == N and result.impact.changed
    assert groups[group]["count"] > 0
    assert groups["eligibility in_scope -> out_of_scope"]["count"] > 0


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_a_shorter_target_only_moves_due_times_earlier(tmp_path, path):
    data, tier, old, target, group, _ = _mutations(path)
    data["tiers"][tier]["targets"]["first_response"] = target
    mutated = _write(tmp_path, data, path.name)
    (result,) = diff(str(path), str(mutated), n=N, seed=SEED)
    groups = result.impact.groups
    expected = {group} | ({"first response lower bound (not before) removed"} if old.startswith("from") else set())
    assert set(groups) == expected, groups
    changed = groups[group]
    assert changed["count"] == result.impact.changed > 0
    if "median_seconds" in changed:
        assert 0 < changed["median_seconds"] <= changed["max_seconds"]
    # the examples really moved that way, decided again here with both policies
    a, b = load_policy(str(path)).compiled, load_policy(str(mutated)).compiled
    tickets = {t["id"]: t for t in generate([b, a], N, SEED)}
    for tid in changed["examples"]:
        t = validate_ticket(tickets[tid])
        due_a = evaluate(a, t, explain=False)["deadlines"]["first_response"]["due"]
        due_b = evaluate(b, t, explain=False)["deadlines"]["first_response"]["due"]
        if due_a is None:
            assert due_b is not None
        else:
            assert parse_timestamp(due_b) < parse_timestamp(due_a)


def test_identical_policies_have_no_changes():
    (result,) = diff(str(TOOLS / "shop.yaml"), str(TOOLS / "shop.yaml"))
    assert result.changes == [] and result.impact is None
    assert "no semantic changes" in render_text([result])


def test_channels_assumptions_calendars_and_rules(tmp_path):
    data = yaml.safe_load((TOOLS / "shop.yaml").read_text("utf-8"))
    data["acceptance"][0]["when"] = 'channel not in ["portal", "chat"]'
    data["assumptions"][0]["text"] = "Saturdays count."
    data["calendars"]["support_hours"]["week"] = {"mon-fri": "09:00-20:00"}
    data["tier_rules"] = [r for r in data["tier_rules"] if r["id"] != "vip-partners"]
    mutated = _write(tmp_path, data, "shop.yaml")
    (result,) = diff(str(TOOLS / "shop.yaml"), str(mutated), n=300)
    text = render_text([result])
    assert "channel 'email' no longer accepted (rule 'unofficial-channel') (clause 5)" in text
    assert "assumption 'weekend-saturday' text changed" in text
    assert "calendar 'support_hours' hours changed:" in text
    assert "tier rule 'vip-partners' removed (clause 3.3)" in text
    assert "eligibility in_scope -> not_accepted" in text or "eligibility" in text


def test_cli_formats_fail_on_impact_and_corpus(tmp_path):
    data = yaml.safe_load((TOOLS / "shop.yaml").read_text("utf-8"))
    data["tiers"]["commercial"]["targets"]["first_response"]["within"] = "3 business hours"
    mutated = _write(tmp_path, data, "shop.yaml")
    runner = CliRunner()
    res = runner.invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(mutated), "--format", "markdown", "--n", "200"])
    assert res.exit_code == 0 and "| change | tickets |" in res.stdout and "within 3 business hours" in res.stdout
    res = runner.invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(mutated), "--fail-on-impact", "--n", "200"])
    assert res.exit_code == 1
    res = runner.invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(TOOLS / "shop.yaml"), "--fail-on-impact"])
    assert res.exit_code == 0
    corpus = tmp_path / "tickets.jsonl"
    res = runner.invoke(cli.main, ["corpus", "generate", "--policy", str(TOOLS / "shop.yaml"), "--n", "50", "--out", str(corpus)])
    assert res.exit_code == 0
    res = runner.invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(mutated), "--corpus", str(corpus), "--format", "json"])
    report = json.loads(res.stdout)
    impact = report["policies"][0]["impact"]
    assert impact["tickets"] == 50 and impact["corpus"] == str(corpus) and report["impact"] is True
    lines = corpus.read_text("utf-8").splitlines()
    corpus.write_text(lines[0] + "\n" + '{"id": "x"}\n', "utf-8")
    res = runner.invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(mutated), "--corpus", str(corpus)])
    assert res.exit_code == 2 and f"{corpus}:2" in res.stderr and "Traceback" not in res.stderr
    res = runner.invoke(cli.main, ["diff", "no-such-thing", str(mutated)])
    assert res.exit_code == 2 and "neither a policy file" in res.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_revisions(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "policies").mkdir()
    policy = tmp_path / "policies" / "shop.yaml"
    shutil.copy(TOOLS / "shop.yaml", policy)
    git("add", ".")
    git("commit", "-q", "-m", "one")
    policy.write_text(policy.read_text("utf-8").replace("24 business hours", "3 business hours"), "utf-8")
    git("commit", "-q", "-am", "two")
    monkeypatch.chdir(tmp_path)
    expected = "tier 'commercial' first response target changed: within 24 business hours (support_hours) -> within 3 business hours"
    for old, new in (("HEAD~1", "policies/shop.yaml"), ("HEAD~1:policies/shop.yaml", "HEAD:policies/shop.yaml"),
                     ("HEAD~1", "policies"), ("HEAD~1:policies", "policies/")):
        (result,) = diff(old, new, n=100)
        assert any(expected in c.line() for c in result.changes), (old, new, [c.line() for c in result.changes])
        assert result.old_label.startswith("HEAD~1:")
    res = CliRunner().invoke(cli.main, ["diff", "nope~3", "policies/shop.yaml"])
    assert res.exit_code == 2


def test_markdown_is_ready_for_a_pr_comment(tmp_path):
    data = yaml.safe_load((TOOLS / "shop.yaml").read_text("utf-8"))
    data["tiers"]["partner"]["targets"]["first_response"]["within"] = "1 business hours"
    (result,) = diff(str(TOOLS / "shop.yaml"), str(_write(tmp_path, data, "shop.yaml")), n=300)
    md = render_markdown([result])
    assert md.startswith("### Policy `shop`")
    assert "- tier 'partner' first response target changed" in md and "— clause 3.2" in md
    assert re.search(r"\| first response due earlier \| \d+ \| .+ / .+ \| GEN11?", md) or "| first response due earlier |" in md


def test_revisions_resolve_from_a_subdirectory():
    """`git ls-tree` filters by the working directory unless told --full-tree: diff must not care where it runs."""
    import subprocess

    from slapolicy.tools.diff import resolve

    root = Path(__file__).resolve().parents[1]
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    from_top = resolve("HEAD", None, cwd=root)
    from_sub = resolve("HEAD", None, cwd=root / "policies")
    assert sorted(from_top) == sorted(from_sub) and len(from_top) >= 5


# -- lifecycle-aware impact: the SLA outcome at --as-of under both revisions --------------------

AS_OF = "2026-03-03T00:00:00Z"


def _partner_ticket(tid, reply_minutes):
    """A partner ticket registered Monday 10:00 (Moscow), answered `reply_minutes` later (business time)."""
    created = parse_timestamp("2026-03-02T10:00:00+03:00")
    ticket = {"id": tid, "created_at": "2026-03-02T10:00:00+03:00", "channel": "portal",
              "customer": {"segment": "partner"}, "topic": "product_error"}
    if reply_minutes is not None:
        at = created + dt.timedelta(minutes=reply_minutes)
        ticket["events"] = [{"type": "agent_replied", "at": at.isoformat()}]
    return ticket


@pytest.mark.parametrize("old_target, new_target, reply, expected, by", [
    ("3 business hours", "1 business hours", 120, "first response met -> breached", 3600),  # the example
    ("1 business hours", "3 business hours", 120, "first response breached -> met", 3600),
    ("3 business hours", "1 business hours", 30, None, None),  # met under both: no lifecycle move
    ("3 business hours", "1 business hours", None, None, None),  # no events: no lifecycle compared
])
def test_lifecycle_outcome_moves(tmp_path, old_target, new_target, reply, expected, by):
    data = yaml.safe_load((TOOLS / "shop.yaml").read_text("utf-8"))
    sides = []
    for name, target in (("old", old_target), ("new", new_target)):
        data["tiers"]["partner"]["targets"]["first_response"]["within"] = target
        (tmp_path / name).mkdir()
        sides.append(str(_write(tmp_path / name, data, "shop.yaml")))
    corpus = tmp_path / "tickets.jsonl"
    corpus.write_text(json.dumps(_partner_ticket("T-1", reply)) + "\n", "utf-8")
    result = diff(*sides, corpus=str(corpus), as_of=parse_timestamp(AS_OF))[0].impact
    assert result.tickets == 1 and result.with_events == (reply is not None)
    if expected is None:
        assert dict(result.lifecycle) == {}
        return
    assert list(result.lifecycle) == [expected]
    move = result.lifecycle[expected]
    assert move["count"] == 1 and move["examples"] == ["T-1"] and move["median_seconds"] == move["max_seconds"] == by
    md = render_markdown([diff(*sides, corpus=str(corpus), as_of=parse_timestamp(AS_OF))[0]])
    assert f"| {expected} | 1 | 1 h / 1 h | T-1 |" in md and "SLA outcomes at 2026-03-03T00:00:00+00:00" in md


def test_workers_give_the_same_report_and_bad_lines_are_counted(tmp_path):
    data = yaml.safe_load((TOOLS / "shop.yaml").read_text("utf-8"))
    data["tiers"]["partner"]["targets"]["first_response"]["within"] = "1 business hours"
    data["tiers"]["commercial"]["targets"]["first_response"]["within"] = "30 business hours"
    mutated = _write(tmp_path, data, "shop.yaml")
    tickets = generate(load_policy(str(TOOLS / "shop.yaml")), 2500, 3)
    lines = []
    for i, t in enumerate(tickets):
        if i % 3 == 0:  # every third ticket answered some minutes later (some within, some past a target)
            at = parse_timestamp(t["created_at"]) + dt.timedelta(minutes=(i * 37) % 900 + 1)
            t["events"] = [{"type": "agent_replied", "at": at.isoformat()}]
        lines.append(json.dumps(t))
    for i in (7, 700, 1900):
        lines[i] = '{"id": "broken"' if i != 700 else '{"id": "B", "created_at": "x"}'
    corpus = tmp_path / "tickets.jsonl"
    corpus.write_text("\n".join(lines) + "\n\n", "utf-8")
    one = [d.to_json() for d in diff(str(TOOLS / "shop.yaml"), str(mutated), corpus=str(corpus), as_of=parse_timestamp(AS_OF))]
    two = [d.to_json() for d in diff(str(TOOLS / "shop.yaml"), str(mutated), corpus=str(corpus),
                                     as_of=parse_timestamp(AS_OF), workers=2)]
    assert one == two
    impact = one[0]["impact"]
    assert impact["tickets"] == 2497 and impact["errors"]["count"] == 3
    assert [e["line"] for e in impact["errors"]["examples"]] == [8, 701, 1901]
    assert impact["lifecycle"]["changes"] and impact["lifecycle"]["tickets_with_events"] > 0
    res = CliRunner().invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(mutated), "--corpus", str(corpus),
                                        "--workers", "2", "--as-of", AS_OF, "--format", "json"])
    assert res.exit_code == 2 and json.loads(res.stdout)["policies"] == one
    assert f"{corpus}:8:" in res.stderr and "3 corpus line(s) are not tickets" in res.stderr


def test_spark_engine_without_the_extra_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if the extra were not installed
    monkeypatch.delitem(sys.modules, "slapolicy.backends.spark", raising=False)
    import slapolicy.backends

    monkeypatch.delattr(slapolicy.backends, "spark", raising=False)
    res = CliRunner().invoke(cli.main, ["diff", str(TOOLS / "shop.yaml"), str(TOOLS / "shop.yaml"), "--engine", "spark"])
    assert res.exit_code == 2 and "pip install 'slapolicy[spark]'" in res.stderr and "Traceback" not in res.stderr
    res = CliRunner().invoke(cli.main, ["evaluate", "--policy", str(TOOLS / "shop.yaml"), "--engine", "spark",
                                        "--output", "out", "s3a://bucket/tickets.jsonl"])
    assert res.exit_code == 2 and "pip install 'slapolicy[spark]'" in res.stderr
