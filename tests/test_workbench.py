"""The web workbench (engine/service/workbench/) over real HTTP: pages render, everything is escaped, the
shareable URL round-trips, and the timeline's data agrees with the engine's own calendar.

Expected values come from the engine itself (the API's decision, `Calendar.is_open`, the `holidays`
package, zoneinfo), never from hard-coded copies; the one fixed fact is the README's example
(advantshop, Friday 19:00 -> Monday 2026-03-09 14:00, a holiday kept 09:00-18:00).
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import http.client
import importlib.util
import json
import re
import shutil
import subprocess
import urllib.parse
import zoneinfo

import pytest
import yaml
from conftest import FIXTURES, ROOT

uvicorn = pytest.importorskip("uvicorn")
from live import LiveServer  # noqa: E402
from slapolicy.api import load_policy, parse_timestamp  # noqa: E402
from slapolicy.service.app import create_app  # noqa: E402
from slapolicy.service.workbench.form import decode_ticket, encode_ticket, form_fields, form_values, ticket_from_form  # noqa: E402

SAMPLES = ROOT / "samples"
FRIDAY = json.loads((SAMPLES / "advantshop-friday-evening.json").read_text("utf-8"))
XSS = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(2)>'


# -- a live server ---------------------------------------------------------------------------------
class Live(LiveServer):
    def get(self, path, headers=None):
        return self.call("GET", path, None, headers)

    def post_form(self, path, fields: dict):
        body = urllib.parse.urlencode(fields).encode("utf-8")
        return self.call("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8")
        finally:
            conn.close()


@pytest.fixture(scope="module")
def bundled():
    live = Live(create_app(None, reload_interval=0))
    yield live
    live.stop()


def _hostile_policy(text: str) -> str:
    """mini.yaml with markup in every kind of text a page shows: title, messages, clauses, assumptions."""
    text = text.replace("title: Mini regulation for engine tests", f"title: 'Mini {XSS}'")
    text = text.replace("message: Other channels are not official", f"message: 'Other channels {XSS_ATTR}'")
    text = text.replace('    name: Standard\n    source: "2.3"', f"    name: 'Standard {XSS}'\n    source: '2.3 <b>x</b>'")
    text = text.replace("text: A coupon is valid for one year from its issue date.", f"text: 'A coupon {XSS}'")
    return text


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """Test fixtures served: lifecycle (pauses), editions (two editions of mini), hostile (markup in texts)."""
    d = tmp_path_factory.mktemp("served")
    shutil.copy(FIXTURES / "lifecycle.yaml", d / "lifecycle.yaml")
    for f in (FIXTURES / "editions").glob("mini*.yaml"):
        text = f.read_text("utf-8").replace("\nid: mini\n", "\nid: editions\n")
        (d / f.name.replace("mini", "editions")).write_text(text, "utf-8")
    hostile = _hostile_policy((FIXTURES / "mini.yaml").read_text("utf-8")).replace("\nid: mini\n", "\nid: hostile\n")
    (d / "hostile.yaml").write_text(hostile, "utf-8")
    live = Live(create_app(d, reload_interval=0))
    live.directory = d
    yield live
    live.stop()


def page_url(policy, ticket, **extra) -> str:
    return "/?" + urllib.parse.urlencode({"policy": policy, "ticket": encode_ticket(ticket), **extra})


def api_decision(live, policy, ticket, **params):
    q = ("?" + urllib.parse.urlencode(params)) if params else ""
    status, _, body = live.call("POST", f"/v1/policies/{policy}/evaluate{q}", json.dumps(ticket).encode("utf-8"),
                                {"Content-Type": "application/json"})
    assert status == 200, body
    return json.loads(body)


def shown_due(page: str, target="first_response"):
    """The due instant the page shows for a target (the <time datetime> of its row), as an aware datetime."""
    row = re.search(rf'<tr id="deadline-{target}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {target}"
    m = re.search(r'<time class="instant due" datetime="([^"]+)"[^>]*>([^<]+)</time>', row.group(1))
    return (dt.datetime.fromisoformat(m.group(1)), m.group(2)) if m else (None, None)


def ids(page: str) -> set:
    return set(re.findall(r'\bid="([^"]+)"', page))


# -- pages render ----------------------------------------------------------------------------------
def test_landing_page_shows_the_readme_example_decision_and_its_timeline(bundled):
    status, headers, page = bundled.get("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"] and headers["referrer-policy"] == "no-referrer"
    decision = api_decision(bundled, "advantshop", FRIDAY)
    due, text = shown_due(page)
    assert due == parse_timestamp(decision["deadlines"]["first_response"]["due"])
    assert due == dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))  # the README's figure
    assert text == "Mon 9 Mar 2026 14:00"
    assert '<svg class="timeline"' in page and 'data-date="2026-03-09"' in page
    assert 'href="/workbench/static/workbench.css"' in page and 'src="/workbench/static/workbench.js"' in page
    assert "<script>" not in page  # no inline script: the CSP forbids it


@pytest.mark.parametrize("name", ["workbench.css", "workbench.js", "favicon.svg"])
def test_static_files_are_served_from_the_package(bundled, name):
    status, headers, body = bundled.get(f"/workbench/static/{name}")
    assert status == 200 and body == (ROOT / "engine" / "service" / "workbench" / "static" / name).read_text("utf-8")
    assert headers["content-type"].split(";")[0] == {"css": "text/css", "js": "text/javascript",
                                                      "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
    again = bundled.get(f"/workbench/static/{name}", {"If-None-Match": headers["etag"]})
    assert again[0] == 304
    assert bundled.get("/workbench/static/../../cli.py")[0] == 404
    assert bundled.get("/workbench/static/nope.css")[0] == 404


def test_no_external_resources(bundled):
    for path in ("/", "/workbench/regulation/advantshop", "/workbench/diff"):
        page = bundled.get(path)[2]
        assert not re.search(r'(src|href)="(https?:)?//', page.replace('href="https://', "")), path
        for ref in re.findall(r'(?:src|href)="(/workbench/static/[^"]+)"', page):
            assert bundled.get(ref)[0] == 200, ref
    css = bundled.get("/workbench/static/workbench.css")[2]
    assert "@import" not in css and "url(http" not in css and "@font-face" not in css


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_decides_on_the_page_as_the_api_decides(bundled, sample):
    ticket = json.loads((SAMPLES / sample).read_text("utf-8"))
    policy = sample[:-5] if sample != "advantshop-friday-evening.json" else "advantshop"
    decision = api_decision(bundled, policy, ticket)
    status, _, page = bundled.get(page_url(policy, ticket))
    assert status == 200
    assert f'id="eligibility">{html.escape(decision["eligibility"]["status"].replace("_", " "))}<' in page
    if decision["tier"]:
        assert f'<code>{html.escape(decision["tier"]["id"])}</code>' in page
    for name, d in decision["deadlines"].items():
        due, _ = shown_due(page, name)
        assert due == (parse_timestamp(d["due"]) if d and d.get("due") else None), name
    for fact in decision["missing_facts"]:
        assert f"<li><code>{html.escape(fact)}</code></li>" in page
    for a in decision["assumptions"]:
        assert f"<strong>{html.escape(a['id'])}</strong>" in page
    fr = decision["deadlines"]["first_response"]
    if fr and (fr.get("due") or fr.get("not_before")):
        assert '<svg class="timeline"' in page
    else:
        assert 'id="timeline"' in page and "no due instant to draw" in page


# -- the shareable URL -----------------------------------------------------------------------------
def _form_for(ticket, policy_tz) -> dict:
    fields = {"policy": "advantshop", "source": "form"}
    fields.update(form_values(ticket, policy_tz))
    return fields


def test_the_form_posts_to_a_shareable_url_that_decides_the_same_ticket(bundled):
    tz = zoneinfo.ZoneInfo("Europe/Moscow")
    status, headers, _ = bundled.post_form("/workbench/try", _form_for(FRIDAY, tz))
    assert status == 303
    location = headers["location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert query["policy"] == "advantshop" and decode_ticket(query["ticket"]) == FRIDAY
    status, _, page = bundled.get(location)
    assert status == 200
    assert shown_due(page)[0] == parse_timestamp(api_decision(bundled, "advantshop", FRIDAY)["deadlines"]["first_response"]["due"])
    # the page offers exactly this URL to share, and pasting the same JSON leads to the same place
    share = re.search(r'id="share-url" type="text" readonly value="([^"]+)"', page).group(1)
    assert html.unescape(share).endswith(location)
    pasted = bundled.post_form("/workbench/try", {"policy": "advantshop", "source": "json",
                                                  "ticket_json": json.dumps(FRIDAY, indent=4)})
    assert pasted[0] == 303 and pasted[1]["location"] == location


def test_the_form_takes_a_local_time_in_any_zone_and_offsets(bundled):
    tz = zoneinfo.ZoneInfo("Europe/Moscow")
    base = _form_for(FRIDAY, tz)
    for local, zone in (("2026-03-06T17:00", "Europe/Berlin"), ("2026-03-06T16:00:00", "UTC"),
                        ("2026-03-06T21:30", "+05:30"), ("2026-03-06T19:00", "")):
        fields = dict(base, **{"created_at": local, "created_at@tz": zone})
        status, headers, _ = bundled.post_form("/workbench/try", fields)
        assert status == 303, (local, zone)
        ticket = decode_ticket(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["location"]).query))["ticket"])
        assert parse_timestamp(ticket["created_at"]) == parse_timestamp(FRIDAY["created_at"]), (local, zone, ticket)


def _policy_test_tickets():
    out = []
    for f in sorted((ROOT / "policies").glob("*.tests.yaml")):
        for case in yaml.safe_load(f.read_text("utf-8")) or []:
            if isinstance(case, dict) and isinstance(case.get("ticket"), dict):
                out.append((f.name.split(".")[0], json.loads(json.dumps(case["ticket"], default=str))))
    return out


def test_every_policy_test_ticket_survives_the_form_round_trip():
    """form_values -> the posted fields -> ticket_from_form gives back the same ticket, for every valid
    ticket of the bundled policies' test files (hundreds of them, all the vocabulary in use)."""
    from slapolicy.api import TicketError
    from slapolicy.decide.tickets import validate_ticket

    checked = 0
    for pid, ticket in _policy_test_tickets():
        try:
            want = validate_ticket(json.loads(json.dumps(ticket)))
        except TicketError:
            continue
        tz = load_policy(pid).compiled.timezone
        back, errors = ticket_from_form(form_values(ticket, tz), tz)
        assert not errors, (ticket, errors)
        assert validate_ticket(back) == want, (ticket, back)
        checked += 1
    assert checked >= 100


def test_the_form_is_generated_from_the_ticket_schema(bundled):
    from slapolicy.language.schema import schema_json

    schema = schema_json("ticket")
    page = bundled.get("/")[2]
    by_name = {f.name: f for f in form_fields()}
    for key, node in schema["properties"].items():
        if node.get("type") == "object":
            for sub, subnode in node["properties"].items():
                assert f"{key}.{sub}" in by_name or subnode.get("type") == "object"
        else:
            assert key in by_name
    channel = re.search(r'<select id="f-channel" name="channel"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', channel) == schema["properties"]["channel"]["enum"]  # required: no 'unknown'
    reproducible = re.search(r'<select id="f-reproducible" name="reproducible" class="tri"[^>]*>(.*?)</select>', page, re.S)
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)<', reproducible.group(1)) == [
        ("", "unknown"), ("true", "true"), ("false", "false")]
    # instants and dates as the decision writes them (not the browser's locale format of datetime-local / date)
    assert re.search(r'<input type="text" id="f-created_at" name="created_at" value="2026-03-06T19:00:00"', page)
    assert 'name="created_at@tz" value="Europe/Moscow"' in page
    assert re.search(r'<input type="number" id="f-severity" name="severity" value="" min="1" max="4"', page)
    assert re.search(r'<input type="text" id="f-customer-license_purchased_at" name="customer.license_purchased_at" '
                     r'value="[^"]*" placeholder="YYYY-MM-DD"', page)
    assert re.search(r'<textarea id="f-events" name="events"', page)


def test_an_unknown_fact_stays_unknown_and_false_is_false():
    tz = zoneinfo.ZoneInfo("Europe/Moscow")
    fields = form_values(FRIDAY, tz)
    ticket, _ = ticket_from_form(dict(fields, reproducible=""), tz)
    assert "reproducible" not in ticket
    ticket, _ = ticket_from_form(dict(fields, reproducible="false"), tz)
    assert ticket["reproducible"] is False
    ticket, _ = ticket_from_form(dict(fields, **{"customer.license_active": ""}), tz)
    assert "license_active" not in ticket["customer"]


# -- bad input: clear messages, nothing lost ------------------------------------------------------
@pytest.mark.parametrize("field,value,message", [
    ("severity", "high", "'high' is not an integer"),
    ("created_at@tz", "Mars/Olympus", "'Mars/Olympus' is neither an IANA time zone"),
    ("created_at", "Friday", "'Friday' is not a date and time"),
    ("events", "[{", "not JSON"),
])
def test_a_bad_form_field_is_named_and_the_form_keeps_its_values(bundled, field, value, message):
    fields = _form_for(FRIDAY, zoneinfo.ZoneInfo("Europe/Moscow"))
    fields[field] = value
    status, _, page = bundled.post_form("/workbench/try", fields)
    assert status == 400
    assert html.escape(message, quote=True) in page
    assert 'aria-invalid="true"' in page
    assert f'value="{html.escape(FRIDAY["id"])}"' in page  # the rest of the form is still filled


def test_bad_pasted_json_says_where(bundled):
    status, _, page = bundled.post_form("/workbench/try", {"policy": "advantshop", "source": "json",
                                                           "ticket_json": '{"id": "T-1",\n  "channel": }'})
    assert status == 400 and "line 2, column" in page
    assert "&quot;channel&quot;: }" in page  # the text is kept for fixing


def test_a_ticket_outside_the_vocabulary_lists_every_field(bundled):
    bad = dict(FRIDAY, channel="pigeon", severity=9, colour="red")
    status, _, page = bundled.get(page_url("advantshop", bad))
    assert status == 422
    problems = re.search(r'<ul class="problems">(.*?)</ul>', page, re.S).group(1)
    for path in ("channel", "severity", "colour"):
        assert f"<code>{path}</code>" in problems


@pytest.mark.parametrize("url,status,text", [
    ("/?policy=advantshop&ticket=%%%", 400, "the ticket in the link is damaged"),
    ("/?policy=advantshop&ticket=" + base64.urlsafe_b64encode(b"[1,").decode(), 400, "damaged"),
    ("/?policy=nope", 404, "unknown policy &#x27;nope&#x27;"),
    ("/?policy=advantshop&edition=1999-01-01&ticket=" + encode_ticket(FRIDAY), 422, "has no edition"),
    ("/?policy=advantshop&as_of=tomorrow&ticket=" + encode_ticket(FRIDAY), 422, "is not an RFC 3339 timestamp"),
    ("/workbench/regulation/nope", 404, "unknown policy"),
])
def test_bad_links_get_a_page_that_says_why(bundled, url, status, text):
    got = bundled.get(url)
    assert got[0] == status, got[2][:500]
    assert got[1]["content-type"].startswith("text/html") and text in got[2]


def test_a_ticket_that_is_not_an_object_is_refused_in_place(bundled):
    status, _, page = bundled.get("/?policy=advantshop&ticket=" + encode_ticket([1, 2]))
    assert status == 422 and "a ticket must be a JSON object" in page


# -- escaping --------------------------------------------------------------------------------------
def test_a_script_in_the_ticket_id_shows_as_text(bundled):
    ticket = dict(FRIDAY, id=XSS)
    status, _, page = bundled.get(page_url("advantshop", ticket))
    assert status == 200
    assert XSS not in page
    assert f'<span class="ticket-id" id="ticket-id">{html.escape(XSS)}</span>' in page
    assert f'value="{html.escape(XSS, quote=True)}"' in page  # in the form
    assert html.escape(json.dumps(XSS)[1:-1]) in page  # in the JSON views


def test_markup_in_every_text_field_and_in_invalid_values_is_escaped(bundled):
    texts = {"id": XSS, "sender_email": XSS_ATTR,
             "customer": {"segment": "commercial", "license_email": XSS, "edition": XSS_ATTR},
             "form": {k: XSS_ATTR for k in ("contact_person", "phone", "email", "environment", "business_impact", "description")},
             "attachments": [{"name": XSS, "format": "bmp"}], "channel": XSS_ATTR, "topic": XSS}
    ticket = dict(FRIDAY, **texts)
    status, _, page = bundled.get(page_url("advantshop", ticket))
    assert status == 422  # channel, topic and edition are outside the vocabulary: the problems list quotes them
    assert XSS not in page and XSS_ATTR not in page and "<img" not in page
    assert page.count("&lt;script&gt;") >= 3


def test_markup_in_a_policy_is_escaped_on_every_page(fixtures):
    ticket = {"id": "T-1", "created_at": "2026-03-10T11:00:00+02:00", "channel": "email",
              "customer": {"segment": "commercial"}, "special_request": False}
    pages = [fixtures.get(page_url("hostile", ticket))[2], fixtures.get("/workbench/regulation/hostile")[2],
             fixtures.get(page_url("hostile", dict(ticket, channel="portal")))[2]]
    for page in pages:
        assert XSS not in page and XSS_ATTR not in page and "<b>x</b>" not in page
    assert html.escape(f"Other channels {XSS_ATTR}") in pages[0]  # the refusal reason, as text
    assert html.escape(f"Standard {XSS}") in pages[2]  # the tier's name


# -- the timeline ----------------------------------------------------------------------------------
def timeline(live, policy, ticket, **extra):
    status, _, body = live.get("/workbench/timeline.json?" + urllib.parse.urlencode(
        {"policy": policy, "ticket": encode_ticket(ticket), **extra}))
    assert status == 200, body
    return json.loads(body)


def _calendar(policy_id, ticket, target="first_response"):
    policy = load_policy(policy_id)
    decision = policy.evaluate(ticket)
    deadline = next(d for d in policy.compiled.tiers[decision["tier"]["id"]].deadlines if d.name == target)
    return deadline.calendar, decision


def test_the_friday_evening_timeline_counts_24_open_hours_to_monday_14_00_on_a_holiday(bundled):
    model = timeline(bundled, "advantshop", FRIDAY)
    cal, decision = _calendar("advantshop", FRIDAY)
    due = parse_timestamp(decision["deadlines"]["first_response"]["due"])
    assert parse_timestamp(model["end"]) == due and model["end_kind"] == "due"
    assert model["counted_seconds"] == 24 * 3600 == sum(r["counted_seconds"] for r in model["days"])
    assert [r["date"] for r in model["days"]] == ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"]
    assert model["days"][-1]["cumulative_seconds"] == 24 * 3600
    # the holiday is named as the holidays package names it, with the hours the calendar keeps on it
    import holidays

    names = holidays.country_holidays("RU", years=2026, language="en_US")
    special = {s["date"]: s for s in model["special_days"]}
    assert special["2026-03-09"]["kind"] == "holiday"
    assert special["2026-03-09"]["name"] == names[dt.date(2026, 3, 9)]
    assert special["2026-03-09"]["hours"] == "09:00-18:00"
    monday = model["days"][-1]
    assert any(b["kind"] == "holiday" and b["date"] == "2026-03-09" for b in monday["bands"])
    assert [m["kind"] for m in monday["marks"]] == ["due"] and monday["marks"][0]["minute"] == 14 * 60
    assert model["days"][0]["marks"][0]["kind"] == "created"


def _check_intervals_against_the_calendar(model, cal):
    """Every open interval is open inside and closed just outside; the counted ones lie within them."""
    open_spans = [(parse_timestamp(a), parse_timestamp(b)) for a, b in model["open_intervals"]]
    second = dt.timedelta(seconds=1)
    for a, b in open_spans:
        assert cal.is_open(a) and cal.is_open(a + (b - a) / 2) and cal.is_open(b - second)
        assert not cal.is_open(b) or b == open_spans[-1][1]
        assert not cal.is_open(a - second) or a == open_spans[0][0]
    for a, b in model["counted_intervals"]:
        a, b = parse_timestamp(a), parse_timestamp(b)
        assert any(x <= a and b <= y for x, y in open_spans) or model["elapsed"]


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_open_hours_of_every_sample_timeline_agree_with_calendar_is_open(bundled, sample):
    ticket = json.loads((SAMPLES / sample).read_text("utf-8"))
    policy = sample[:-5] if sample != "advantshop-friday-evening.json" else "advantshop"
    decision = load_policy(policy).evaluate(ticket)
    fr = decision["deadlines"]["first_response"]
    if not (fr and (fr["due"] or fr["not_before"])):
        status, _, body = bundled.get("/workbench/timeline.json?" + urllib.parse.urlencode(
            {"policy": policy, "ticket": encode_ticket(ticket)}))
        assert status == 422 and "no due instant" in body
        return
    model = timeline(bundled, policy, ticket)
    cal, _ = _calendar(policy, ticket)
    _check_intervals_against_the_calendar(model, cal)
    end = parse_timestamp(fr["due"] or fr["not_before"])
    start = parse_timestamp(ticket["created_at"])
    assert model["counted_seconds"] == round(cal.business_seconds_between(start, end)) or model["elapsed"]


def test_a_dst_change_is_marked_and_rows_follow_the_viewers_zone(bundled):
    # procrm-b24 (Kyiv, Mon-Fri 10-18): Friday 17:30 + 2 working hours crosses the last Sunday of March
    ticket = {"id": "PC-DST", "created_at": "2026-03-27T17:30:00+02:00", "channel": "portal",
              "customer": {"segment": "commercial", "license_active": True}, "topic": "billing"}
    model = timeline(bundled, "procrm-b24", ticket)
    kyiv = zoneinfo.ZoneInfo("Europe/Kyiv")
    [change] = model["dst"]
    at = parse_timestamp(change["at"])
    assert change["timezone"] == "Europe/Kyiv"
    assert (at - dt.timedelta(seconds=1)).astimezone(kyiv).utcoffset() != at.astimezone(kyiv).utcoffset()
    assert change["from"] == "UTC+02:00" and change["to"] == "UTC+03:00"
    assert model["counted_seconds"] == 2 * 3600
    sunday = next(r for r in model["days"] if r["date"] == "2026-03-29")
    assert sunday["hours_long"] == 23 and sunday["dst"]

    ny = timeline(bundled, "procrm-b24", ticket, tz="America/New_York")
    assert ny["display_timezone"] == "America/New_York" and ny["timezone"] == "Europe/Kyiv"
    assert ny["counted_seconds"] == model["counted_seconds"] and ny["end"] == model["end"]
    due_row = next(r for r in ny["days"] if any(m["kind"] == "due" for m in r["marks"]))
    due_local = parse_timestamp(model["end"]).astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert due_row["date"] == due_local.date().isoformat()
    assert next(m for m in due_row["marks"] if m["kind"] == "due")["minute"] == due_local.hour * 60 + due_local.minute
    assert {c["timezone"] for c in ny["dst"]} == {"Europe/Kyiv"}  # New York changed on 8 March, before the window
    page = bundled.get(page_url("procrm-b24", ticket, tz="America/New_York"))[2]
    assert 'data-timezone="America/New_York"' in page and 'class="tl-dst"' in page


def test_pauses_stop_the_clock_on_the_timeline(fixtures):
    # lifecycle.yaml: resolution 4 business hours (office Mon-Fri 09-20, Kyiv), paused while waiting_on_customer
    ticket = {"id": "L-1", "created_at": "2026-03-10T10:00:00+02:00", "channel": "portal",
              "customer": {"segment": "commercial"}, "topic": "billing",
              "events": [{"type": "status_changed", "status": "waiting_on_customer", "at": "2026-03-10T11:00:00+02:00"},
                         {"type": "status_changed", "status": "open", "at": "2026-03-10T13:00:00+02:00"}]}
    as_of = "2026-03-10T15:00:00+02:00"
    decision = load_policy(str(fixtures.directory / "lifecycle.yaml")).evaluate(ticket, as_of=as_of)
    model = timeline(fixtures, "lifecycle", ticket, as_of=as_of, target="resolution")
    assert [[parse_timestamp(a), parse_timestamp(b)] for a, b in model["pauses"]] == [
        [parse_timestamp(e["at"]) for e in ticket["events"]]]
    assert parse_timestamp(model["end"]) == parse_timestamp(decision["lifecycle"]["targets"]["resolution"]["due"])
    assert model["counted_seconds"] == 4 * 3600  # the target, with the paused 2 hours left out
    assert model["days"][0]["paused"] == [[11 * 60, 13 * 60]]
    assert "as_of" in {m["kind"] for m in model["marks"]}
    page = fixtures.get(page_url("lifecycle", ticket, as_of=as_of, target="resolution"))[2]
    assert 'class="tl-paused"' in page and 'id="lifecycle"' in page


def test_timeline_json_refuses_bad_parameters(bundled):
    for extra, text in (({"tz": "Mars/Olympus"}, "not an IANA time zone"), ({"target": "nope"}, "no target 'nope'"),
                        ({"as_of": "soon"}, "")):
        status, _, body = bundled.get("/workbench/timeline.json?" + urllib.parse.urlencode(
            {"policy": "advantshop", "ticket": encode_ticket(FRIDAY), **extra}))
        assert status == 422 and text in body, (extra, body)
    assert bundled.get("/workbench/timeline.json?policy=nope&ticket=e30")[0] == 404


# -- regulation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", ["advantshop", "procrm-b24"])
def test_regulation_page_links_rules_and_clauses_both_ways(bundled, pid):
    status, _, page = bundled.get(f"/workbench/regulation/{pid}")
    assert status == 200
    if importlib.util.find_spec("slapolicy.tools.render") is None:
        assert "engine/tools/render.py is not installed" in page
        return
    anchors = ids(page)
    internal = re.findall(r'href="#([^"]+)"', page)
    assert internal and all(html.unescape(a) in anchors for a in internal)  # no dangling link
    data = load_policy(pid).compiled.data
    from slapolicy.tools.render import slug

    for stage in ("acceptance", "scope", "tier_rules", "delay_reasons"):
        for rule in data.get(stage) or []:
            assert f"rule-{slug(rule['id'])}" in anchors
    clause_links = {a for a in internal if a.startswith("clause-")}
    assert clause_links and clause_links <= anchors
    back = [a for a in internal if a.startswith("rule-")]
    assert back  # the clause index links back to rules
    # the decision page links into this page, to anchors that exist
    decision_page = bundled.get("/" if pid == "advantshop" else page_url(pid, json.loads((SAMPLES / f"{pid}.json").read_text("utf-8"))))[2]
    links = re.findall(rf'href="/workbench/regulation/{re.escape(pid)}#([^"]+)"', decision_page)
    assert links and all(html.unescape(a) in anchors for a in links)


def test_the_regulation_picker_works_without_javascript(bundled):
    status, headers, _ = bundled.get("/workbench/regulation/advantshop?policy=bitrix-ua")
    assert status == 303 and headers["location"] == "/workbench/regulation/bitrix-ua"


def test_editions_are_offered_and_a_forced_edition_decides(fixtures):
    ticket = {"id": "T-1", "created_at": "2026-03-10T11:00:00+02:00", "channel": "portal",
              "customer": {"segment": "commercial"}}
    page = fixtures.get(page_url("editions", ticket))[2]
    select = re.search(r'<select name="edition" id="f-edition">(.*?)</select>', page, re.S).group(1)
    from slapolicy.api import load_policy as lp

    policy = lp(str(fixtures.directory / "editions.yaml"))
    assert re.findall(r'<option value="([^"]*)"', select) == [""] + [n or "current" for n, _ in policy.editions]
    old = policy.editions[0][0]
    forced = fixtures.get(page_url("editions", ticket, edition=old))[2]
    assert f"edition {html.escape(old)} (forced)" in forced
    api = api_decision(fixtures, "editions", ticket, edition=old)
    assert shown_due(forced)[0] == (parse_timestamp(api["deadlines"]["first_response"]["due"])
                                    if api["deadlines"]["first_response"]["due"] else None)


# -- diff report -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repository with a policies/ folder of one policy and two commits: the standard target cut
    from 2 to 1 business hour. The served directory is below the top, as in this project."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    top = tmp_path_factory.mktemp("repo")
    d = top / "policies"
    d.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    text = (FIXTURES / "mini.yaml").read_text("utf-8")
    (d / "mini.yaml").write_text(text, "utf-8")
    subprocess.run(git + ["add", "mini.yaml"], cwd=d, check=True)
    subprocess.run(git + ["commit", "-qm", "first"], cwd=d, check=True)
    (d / "mini.yaml").write_text(text.replace("within: 2 business hours", "within: 1 business hours"), "utf-8")
    subprocess.run(git + ["commit", "-qam", "cut the standard target"], cwd=d, check=True)
    live = Live(create_app(d, reload_interval=0))
    live.directory, live.top = d, top
    yield live
    live.stop()


def test_diff_report_between_two_revisions(repo):
    status, _, page = repo.get("/workbench/diff")
    assert status == 200 and "cut the standard target" in page  # recent commits are offered
    if importlib.util.find_spec("slapolicy.tools.diff") is None:
        assert 'id="diff-unavailable"' in page
        return
    from slapolicy.tools.diff import diff, render_markdown

    status, _, page = repo.get("/workbench/diff?old=HEAD~1&new=HEAD&n=50")
    assert status == 200, page[:2000]
    assert 'id="diff-report"' in page
    expected = render_markdown(diff("HEAD~1:policies", "HEAD:policies", n=50, cwd=repo.top))
    assert html.escape(expected, quote=True).strip() in page  # the markdown report, verbatim
    assert "2 business hours" in page and "1 business hour" in page
    # the changed target's before and after are marked (issue 14's polish)
    assert re.search(r'target changed: <del class="before">[^<]*2 business hours?[^<]*</del> → '
                     r'<ins class="after">[^<]*1 business hours?[^<]*</ins>', page), page[page.find("changes"):][:800]
    # each example ticket links to the try page, which decides that very ticket
    link = re.search(r'<a href="(/\?policy=mini&amp;ticket=[^"]+)">(GEN0-\d+)</a>', page)
    assert link, page[page.find("examples"):][:600]
    status, _, tried = repo.get(html.unescape(link.group(1)))
    assert status == 200 and link.group(2) in tried
    # "new" left empty: the files being served
    status, _, page = repo.get("/workbench/diff?old=HEAD~1&policy=mini&n=50")
    assert status == 200 and "1 business hour" in page


@pytest.mark.parametrize("old,text", [("--output=/tmp/x", "is not a git revision name"),
                                      ("HEAD~1..HEAD", "is not a git revision name"),
                                      ("no-such-branch", "slapolicy diff:")])
def test_diff_refuses_what_is_not_a_revision(repo, old, text):
    if importlib.util.find_spec("slapolicy.tools.diff") is None:
        pytest.skip("engine/tools/diff.py is not in this build")
    status, _, page = repo.get("/workbench/diff?" + urllib.parse.urlencode({"old": old}))
    assert status == 422 and text in page


def test_the_workbench_paths_are_the_routes_it_adds():
    from slapolicy.service.workbench.app import PATHS

    app = create_app(None, reload_interval=0)
    added = [r.path for r in app.app.routes if r.path == "/" or r.path.startswith("/workbench")]
    assert sorted(added) == sorted(PATHS)


def test_the_api_is_untouched(bundled):
    status, headers, body = bundled.get("/v2/anything")
    assert status == 404 and json.loads(body)["error"]["code"] == "not-found"
    assert bundled.get("/workbench")[0] == 307
