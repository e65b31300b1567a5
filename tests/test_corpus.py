"""slapolicy corpus generate: valid, deterministic, the whole vocabulary, the edge times of the calendars."""
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import holidays
import pytest
from click.testing import CliRunner
from slapolicy import cli
from slapolicy.api import load_policy, parse_timestamp
from slapolicy.decide.tickets import validate_ticket
from slapolicy.language.schema import schema_json
from slapolicy.tools.corpus import generate

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tests" / "fixtures" / "tools"
BUNDLED = sorted(p for p in (ROOT / "policies").glob("*.yaml") if p.name.count(".") == 1 and "@" not in p.name)
POLICIES = BUNDLED + [TOOLS / "shop.yaml"]
VOCAB = schema_json("ticket")["properties"]


@pytest.mark.parametrize("path", POLICIES, ids=[p.stem for p in POLICIES])
def test_deterministic_and_valid(path):
    policy = load_policy(str(path))
    first, second = generate(policy, 400, 7), generate(policy, 400, 7)
    assert first == second
    assert generate(policy, 400, 8) != first
    assert len({t["id"] for t in first}) == len(first)
    for t in first:
        validate_ticket(t)  # raises on any violation of the vocabulary
        policy.evaluate(t, explain=False)


def test_the_whole_vocabulary_weighted_to_the_common():
    tickets = generate(load_policy(str(TOOLS / "shop.yaml")), 4000, 1)
    for field in ("channel", "topic", "escalation"):
        seen = Counter(t.get(field) for t in tickets)
        assert set(VOCAB[field]["enum"]) <= set(seen), set(VOCAB[field]["enum"]) - set(seen)
    channels = Counter(t["channel"] for t in tickets)
    assert channels.most_common(1)[0][0] == "portal" and channels["icq"] < channels["email"]
    segments = Counter(t["customer"]["segment"] for t in tickets)
    assert set(segments) == set(VOCAB["customer"]["properties"]["segment"]["enum"])
    assert Counter(t.get("severity") for t in tickets).keys() >= {1, 2, 3, 4, None}
    topics = Counter(t.get("topic") for t in tickets)
    assert topics["product_error"] > topics["load_testing"]
    flags = [k for k, v in VOCAB.items() if v.get("type") == "boolean"]
    for flag in flags:  # every flag: true, false and missing (unknown) all occur
        values = Counter(t.get(flag) for t in tickets)
        assert {True, False, None} <= set(values), flag
    assert any("attachments" in t for t in tickets) and any("form" in t for t in tickets)
    assert any(t["created_at"].endswith("Z") for t in tickets)


def _local(t, tz):
    return parse_timestamp(t["created_at"]).astimezone(tz)


def test_edge_times_of_the_calendars():
    policy = load_policy(str(TOOLS / "shop.yaml"))  # Moscow, Mon-Fri 09-18, Sat 10-14, RU holidays
    cal = policy.compiled.calendars["support_hours"]
    tz = policy.compiled.timezone
    tickets = generate(policy, 3000, 2)
    instants = [parse_timestamp(t["created_at"]) for t in tickets]
    edges = [t for t in instants if cal.is_open(t) != cal.is_open(t - dt.timedelta(minutes=1))]
    assert len(edges) > 30  # exactly at an opening or a closing
    near = [t for t in instants if any(cal.is_open(t + dt.timedelta(minutes=m)) != cal.is_open(t) for m in (-5, 5))]
    assert len(near) > 100
    ru = holidays.country_holidays("RU", years=[2026])
    on_holidays = [t for t in instants if t.astimezone(tz).date() in ru]
    assert len(on_holidays) > 50
    weekend = [t for t in instants if t.astimezone(tz).weekday() >= 5]
    assert 0.08 < len(weekend) / len(instants) < 0.35
    closed = [t for t in instants if not cal.is_open(t)]
    assert 0.25 < len(closed) / len(instants) < 0.75


def test_dst_changes_of_the_time_zone():
    policy = load_policy(str(ROOT / "tests" / "fixtures" / "mini.yaml"))  # Europe/Kyiv changes twice a year
    tz = policy.compiled.timezone
    tickets = generate(policy, 3000, 3)
    changes = [dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.timezone.utc)]
    assert all(c.astimezone(tz).utcoffset() != (c - dt.timedelta(hours=1)).astimezone(tz).utcoffset() for c in changes)
    around = [t for t in tickets if any(abs((parse_timestamp(t["created_at"]) - c).total_seconds()) <= 2 * 3600 for c in changes)]
    assert len(around) > 30


def test_cli_generate(tmp_path):
    out = tmp_path / "c.jsonl"
    runner = CliRunner()
    res = runner.invoke(cli.main, ["corpus", "generate", "--policy", str(TOOLS / "shop.yaml"), "--n", "25", "--seed", "4",
                                   "--out", str(out)])
    assert res.exit_code == 0
    res2 = runner.invoke(cli.main, ["corpus", "generate", "--policy", str(TOOLS / "shop.yaml"), "--n", "25", "--seed", "4"])
    assert res2.stdout == out.read_text("utf-8")
    lines = out.read_text("utf-8").splitlines()
    assert len(lines) == 25 and all(validate_ticket(json.loads(line)) for line in lines)
    res = runner.invoke(cli.main, ["corpus", "generate", "--policy", "no-such-policy"])
    assert res.exit_code == 2 and "unknown policy" in res.stderr
