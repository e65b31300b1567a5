"""`slapolicy corpus generate`: realistic synthetic tickets for diff impact reports and benchmarks.

Tickets cover the whole vocabulary (every channel, segment, topic, escalation, severity, flag...),
weighted towards what support desks see most (portal and e-mail, commercial customers, product
errors and how-to questions, one problem per ticket, most flags absent or false). Optional facts
are often missing, as in real tickets (missing means unknown to the policy).

`created_at` mixes ordinary office-hours instants with the edge times that break deadline code:
minutes around each opening and closing of the policy's calendars, nights, weekends, the days of
the public holidays of the calendars' countries (and their eves), and the hours around the
daylight-saving changes of the calendars' time zones. Timestamps are written with the policy's
offset, in UTC (`Z`) or with a foreign offset.

The output is deterministic for a seed: one `random.Random(seed)`, every set iterated sorted.
"""
from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import zoneinfo

YEAR_START = dt.date(2026, 1, 1)
DAYS = 365

CHANNELS = {"portal": 40, "email": 22, "chat": 12, "phone": 9, "messenger": 4, "skype": 3, "forum": 3,
            "social": 3, "icq": 2, "googletalk": 2}
SEGMENTS = {"commercial": 50, "partner": 22, "non_commercial": 14, "demo": 14}
COMMON_TOPICS = {"product_error": 14, "functionality": 10, "basic_usage": 9, "update_failure": 5, "installation_error": 4,
                 "database_error": 3, "server_software_error": 3, "licensing": 3, "billing": 3, "api_usage": 3,
                 "portal_admin": 3, "installation_consulting": 3, "custom_development": 2, "feature_request": 2,
                 "implementation_consulting": 2, "design_integration": 2, "update_license_key": 2,
                 "update_connectivity": 2, "performance_consulting": 2, "security_settings": 2, "minor_fixes": 2,
                 "hosting": 2, "third_party_software": 2, "third_party_failure": 2, "presales": 2}
ESCALATIONS = {"none": 80, "project_manager_failed": 7, "development": 8, "consulting": 5}
SEVERITY = {1: 6, 2: 20, 3: 44, 4: 30}
EDITIONS = {"standard": 20, "business": 20, "start": 15, "enterprise": 12, "premium": 10, "ultimate": 8,
            "professional": 5, "corporate": 5, "expert": 5}
FORMATS = {"png": 40, "jpg": 25, "zip": 8, "pdf": 8, "txt": 5, "log": 5, "bmp": 4, "gif": 3, "tif": 1, "mp4": 1}
# flag -> (share of tickets that state it, share of those where it is true)
FLAGS = {"special_request": (0.35, 0.25), "sender_authorized": (0.7, 0.9), "product_version_current": (0.75, 0.8),
         "critical_terms_accepted": (0.25, 0.6), "site_access_provided": (0.6, 0.65), "reproducible": (0.5, 0.75),
         "info_sufficient": (0.6, 0.8), "core_modified": (0.4, 0.12), "requirements_violated": (0.35, 0.08),
         "installations_exceeded": (0.3, 0.05), "licensed_copy": (0.4, 0.93), "hosting_meets_requirements": (0.35, 0.85),
         "third_party_service": (0.35, 0.12), "needs_development": (0.35, 0.15), "unconstructive": (0.3, 0.05),
         "abusive_language": (0.3, 0.02), "implemented_by_vendor": (0.3, 0.6)}
# created_at categories
KINDS = {"ordinary": 46, "edge": 22, "night": 8, "weekend": 10, "holiday": 8, "dst": 6}


def _pick(rng, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _topics(vocabulary=None):
    from slapolicy.language.schema import schema_json

    schema = vocabulary.schema if vocabulary is not None else schema_json("ticket")
    return list(schema["properties"]["topic"]["enum"])


def _added(rng, t: dict, vocabulary, created_day) -> None:
    """Values for the fields a repository's or policy's vocabulary adds (each stated in half the tickets;
    an added object gets its fields). The contract vocabulary adds none, and draws nothing."""
    for dotted, node in vocabulary.fields:
        kind = "enum" if "enum" in node else node.get("format") or node.get("type")
        if kind == "object" or rng.random() < 0.5:
            continue
        if kind == "enum":
            value = rng.choice(node["enum"])
        elif kind == "boolean":
            value = rng.random() < 0.5
        elif kind in ("integer", "number"):
            lo, hi = node.get("minimum", 0), node.get("maximum", max(node.get("minimum", 0), 0) + 10)
            value = rng.randint(int(lo), int(hi)) if kind == "integer" else round(rng.uniform(lo, hi), 2)
        elif kind == "date":
            value = (created_day - dt.timedelta(days=rng.randrange(0, 400))).isoformat()
        elif kind == "date-time":
            value = dt.datetime.combine(created_day, dt.time(rng.randrange(24), rng.randrange(60)),
                                        tzinfo=dt.timezone.utc).isoformat()
        else:
            value = rng.choice(("value-a", "value-b", "value-c"))
        *parents, name = dotted.split(".")
        node_out = t
        for part in parents:
            node_out = node_out.setdefault(part, {})
        node_out[name] = value


class _Times:
    """Candidate instants of a year for a policy's calendars: openings / closings, holidays, DST changes."""

    def __init__(self, compiled_list, start=YEAR_START, days=DAYS):
        first = compiled_list[0]
        self.tz = first.timezone
        self.start = start
        self.days = days
        self.zones = sorted({c.data["timezone"] for c in compiled_list}
                            | {spec["timezone"] for c in compiled_list for spec in (c.data.get("calendars") or {}).values()
                               if isinstance(spec, dict) and spec.get("timezone")})
        self.calendars = []
        seen = set()
        for c in compiled_list:
            for name in sorted(c.calendars):
                spec = json.dumps((c.data.get("calendars") or {}).get(name), sort_keys=True, default=str)
                if spec not in seen:
                    seen.add(spec)
                    self.calendars.append((name, c.calendars[name], (c.data.get("calendars") or {}).get(name) or {}))
        self.edges = self._edges()
        self.holidays = self._holidays()
        self.dst = self._dst()

    def _edges(self):
        """Instants where a calendar opens or closes (to the minute), over the year."""
        out = set()
        t0 = dt.datetime.combine(self.start, dt.time(0, 0), tzinfo=dt.timezone.utc)
        step = dt.timedelta(minutes=15)
        steps = self.days * 96
        for _, cal, _spec in self.calendars:
            prev = cal.is_open(t0)
            for i in range(1, steps + 1):
                t = t0 + i * step
                now = cal.is_open(t)
                if now != prev:
                    lo, hi = t - step, t  # the change is in (lo, hi]: bisect to the minute
                    while hi - lo > dt.timedelta(minutes=1):
                        mid = lo + (hi - lo) // 2
                        mid = mid.replace(second=0, microsecond=0)
                        if mid <= lo:
                            break
                        if cal.is_open(mid) == prev:
                            lo = mid
                        else:
                            hi = mid
                    out.add(hi)
                prev = now
        return sorted(out)

    def _holidays(self):
        import holidays as hol

        out = set()
        years = sorted({self.start.year, (self.start + dt.timedelta(days=self.days)).year})
        for _, _cal, spec in self.calendars:
            code = spec.get("holidays")
            if not code or str(code).lower() == "none":
                continue
            try:
                days = hol.country_holidays(str(code), years=years)
            except (NotImplementedError, KeyError, AttributeError):
                continue
            for d in days:
                if self.start <= d < self.start + dt.timedelta(days=self.days):
                    out.add(d)
                    out.add(d - dt.timedelta(days=1))  # the eve: a deadline that runs into the holiday
        return sorted(out)

    def _dst(self):
        """UTC instants of the offset changes of the zones involved."""
        out = []
        for name in self.zones:
            tz = zoneinfo.ZoneInfo(name)
            t = dt.datetime.combine(self.start, dt.time(0, 0), tzinfo=dt.timezone.utc)
            end = t + dt.timedelta(days=self.days)
            prev = t.astimezone(tz).utcoffset()
            while t < end:
                nxt = t + dt.timedelta(hours=1)
                off = nxt.astimezone(tz).utcoffset()
                if off != prev:
                    out.append(nxt)
                    prev = off
                t = nxt
        return sorted(set(out))

    def pick(self, rng) -> dt.datetime:
        kind = _pick(rng, KINDS)
        tz = self.tz
        day = self.start + dt.timedelta(days=rng.randrange(self.days))
        if kind == "edge" and self.edges:
            t = rng.choice(self.edges)
            return t + dt.timedelta(minutes=rng.choice((-60, -30, -5, -1, 0, 0, 1, 5, 30, 60)))
        if kind == "holiday" and self.holidays:
            day = rng.choice(self.holidays)
            return _local(day, rng.randrange(7, 22), rng.randrange(60), tz)
        if kind == "dst" and self.dst:
            t = rng.choice(self.dst)
            after = self.edges[bisect.bisect_right(self.edges, t):][:3]
            if after and rng.random() < 0.4:
                return rng.choice(after) + dt.timedelta(minutes=rng.choice((-1, 0, 1, 30)))
            return t + dt.timedelta(minutes=rng.choice((-120, -61, -30, -1, 0, 1, 30, 61, 120)))
        if kind == "weekend":
            while day.weekday() < 5:
                day += dt.timedelta(days=1)
            if rng.random() < 0.3:  # Friday evening or Monday early morning
                fri = day - dt.timedelta(days=day.weekday() - 4)
                return _local(fri, rng.randrange(17, 24), rng.randrange(60), tz) if rng.random() < 0.5 else \
                    _local(fri + dt.timedelta(days=3), rng.randrange(0, 10), rng.randrange(60), tz)
            return _local(day, rng.randrange(24), rng.randrange(60), tz)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        if kind == "night":
            hour = rng.choice(list(range(0, 8)) + list(range(20, 24)))
            return _local(day, hour, rng.randrange(60), tz)
        hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 13, 13, 11, 12, 13, 12, 11, 9, 6, 4, 3, 2, 2, 1])[0]
        return _local(day, hour, rng.randrange(60), tz, rng.randrange(60))


def _local(day, hour, minute, tz, second=0) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(hour, minute, second))
    return local.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def _stamp(rng, t: dt.datetime, tz) -> str:
    r = rng.random()
    if r < 0.75:
        return t.astimezone(tz).isoformat()
    if r < 0.9:
        return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    other = dt.timezone(dt.timedelta(hours=rng.choice((-5, 1, 5, 8))))
    return t.astimezone(other).isoformat()


def _email(rng, name: str) -> str:
    return f"{name}@{rng.choice(('example.com', 'example.org', 'shop.example', 'mail.example'))}"


def ticket(rng, number: int, times: _Times, prefix: str, topics: list, vocabulary=None) -> dict:
    tz = times.tz
    created = times.pick(rng)
    t: dict = {"id": f"{prefix}-{number:06d}", "created_at": _stamp(rng, created, tz), "channel": _pick(rng, CHANNELS)}
    flags = {}
    for flag in sorted(FLAGS):
        stated, true_share = FLAGS[flag]
        if rng.random() < stated:
            flags[flag] = rng.random() < true_share
    vip = flags.get("special_request") is True  # who asks for a special request mostly holds a coupon
    if vip and rng.random() < 0.6:
        t["channel"] = "portal"  # and uses the web interface regulations ask for
    customer: dict = {"segment": _pick(rng, SEGMENTS)}
    if rng.random() < (0.95 if vip else 0.75):
        customer["edition"] = "enterprise" if vip and rng.random() < 0.6 else _pick(rng, EDITIONS)
    if rng.random() < 0.8:
        customer["license_active"] = rng.random() < (0.3 if customer["segment"] == "demo" else 0.88)
    created_day = created.astimezone(tz).date()
    if rng.random() < 0.6:
        customer["license_purchased_at"] = (created_day - dt.timedelta(days=rng.choice(
            [rng.randrange(0, 365), rng.randrange(0, 365), rng.randrange(340, 390), rng.randrange(365, 1100)]))).isoformat()
    user = rng.choice(("anna", "ivan", "olga", "petro", "maria", "john", "admin", "support", "dev"))
    if rng.random() < 0.6:
        customer["license_email"] = _email(rng, user)
    if rng.random() < (0.85 if vip else 0.1):
        coupon: dict = {}
        if rng.random() < 0.9:
            coupon["issued_at"] = (created_day - dt.timedelta(days=rng.choice(
                [rng.randrange(0, 365), rng.randrange(0, 365), rng.randrange(355, 375), rng.randrange(365, 700)]))).isoformat()
        if rng.random() < 0.9:
            coupon["used"] = rng.choice([0, 1, 2, 5, 9, 14, 15, 16, 20])
        customer["coupon"] = coupon
    t["customer"] = customer
    if rng.random() < 0.7:
        same = "license_email" in customer and rng.random() < 0.8
        t["sender_email"] = customer["license_email"] if same else _email(rng, rng.choice((user, "someone", "boss")))
        if same and rng.random() < 0.1:
            t["sender_email"] = t["sender_email"].upper()  # same address, other case
    if rng.random() < 0.93:
        t["topic"] = _pick(rng, COMMON_TOPICS) if rng.random() < 0.8 else rng.choice(topics)
    if rng.random() < 0.7:
        t["severity"] = _pick(rng, SEVERITY)
    if rng.random() < 0.55:
        t["escalation"] = _pick(rng, ESCALATIONS)
    if rng.random() < 0.7:
        t["problems_count"] = rng.choices([0, 1, 2, 3, 5], weights=[2, 75, 15, 6, 2])[0]
    t.update(flags)
    if rng.random() < 0.3:
        t["attachments"] = [{"name": f"file{i + 1}.{fmt}", "format": fmt}
                            for i, fmt in enumerate(_pick(rng, FORMATS) for _ in range(rng.choice((1, 1, 1, 2, 3))))]
    if rng.random() < 0.2:
        form = {}
        for key, value in (("contact_person", user.capitalize()), ("phone", f"+380 44 {rng.randrange(1000000, 9999999)}"),
                           ("email", _email(rng, user)), ("environment", "PHP 8.2, MySQL 8.0"),
                           ("business_impact", rng.choice(("orders stopped", "slow pages", "none"))),
                           ("description", "The shop shows an error after the update")):
            if rng.random() < 0.85:
                form[key] = value if rng.random() < 0.95 else ""
        t["form"] = form
    if vocabulary is not None and vocabulary.fields:
        _added(rng, t, vocabulary, created_day)
    return t


def generate(policies, n: int, seed: int, prefix: str | None = None) -> list[dict]:
    """`n` tickets (JSON objects) for a policy (api.Policy or CompiledPolicy, or a list of them: their
    calendars' edge times are all used). Deterministic for a seed."""
    return list(iter_tickets(policies, n, seed, prefix))


def iter_tickets(policies, n: int, seed: int, prefix: str | None = None):
    """The tickets of `generate`, one at a time (memory flat in `n`)."""
    if not isinstance(policies, (list, tuple)):
        policies = [policies]
    compiled = [getattr(p, "compiled", p) for p in policies]
    rng = random.Random(seed)
    times = _Times(compiled)
    vocabulary = getattr(compiled[0], "vocabulary", None)  # the first policy's (merged) vocabulary
    topics = _topics(vocabulary)
    prefix = prefix or f"GEN{seed}"
    for i in range(n):
        yield ticket(rng, i + 1, times, prefix, topics, vocabulary)


def write_jsonl(tickets, stream) -> None:
    for t in tickets:
        stream.write(json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n")
