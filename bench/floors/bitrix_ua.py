"""bitrix-ua's full decision by hand (policies/bitrix-ua.yaml; bench/floors/__init__.py says what is allowed)."""
from bench.floors import Tables, attachment_notice, deadline_maker, flag_delays
from slapolicy.language.builtins import add_months

OFFICIAL = frozenset(["portal", "chat"])
BMP = frozenset(["bmp"])
SCREENSHOTS = frozenset(["tif", "tiff", "webp", "heic", "heif", "psd"])
# delay reasons after the first three: (rule id, flag, the value that fires it); `outside-support` before the last two
FLAGS = (("technical-requirements-violated", "requirements_violated", True), ("core-modified", "core_modified", True),
         ("installations-exceeded", "installations_exceeded", True), ("unlicensed-copy", "licensed_copy", False))
LAST_FLAGS = (("unconstructive-discussion", "unconstructive", True), ("abusive-language", "abusive_language", True))


def make_floor(compiled):
    """full_floor(t) for a validated bitrix-ua ticket"""
    T = Tables(compiled)
    REASON, RELY, OUT, TIER, TIER_RELY = T.reason, T.rely, T.out, T.tier, T.tier_rely
    HEAD, STATUS = T.head, T.status
    assumptions, deadlines = T.assumptions, deadline_maker(compiled)
    KYIV = compiled.timezone
    WORKING = compiled.calendars["working_hours"]
    ids = [r.id for r in compiled.scope]
    special_at = ids.index("special-request-installation")
    OUTSIDE = T.first_topic(ids[:special_at])  # the topic lists before the special-request installation rule
    SCOPE = T.first_topic(ids[special_at + 1:-1])  # not-installation-work .. usage-questions (then the default)
    NO_DEVELOPMENT = T.topics("special-request-no-development")

    def full_floor(t):
        missing = set()
        A = []
        c = t["customer"]
        official = t["channel"] in OFFICIAL
        refusals = []
        if not official:
            refusals.append("unofficial-channel")
        if c["segment"] != "partner":
            active = c.get("license_active")
            if active is False:
                refusals.append("no-active-licence")
            elif active is None:
                missing.add("customer.license_active")
        accepted = not refusals
        tier = None
        delays = []
        topic = t.get("topic")
        special = t.get("special_request")
        if not accepted:
            status = "not_accepted"
            reasons = [dict(REASON[r]) for r in refusals]
            for r in refusals:
                A += RELY[r]
        else:
            # special_request_granted: special_request == true and channel == "portal" and edition == "enterprise"
            # and coupon_valid (date(created_at) <= licence purchase + 1 year and coupon.used < 15); None = unknown
            lost = []
            granted = True
            edition = c.get("edition")
            if special is False or t["channel"] != "portal" or (edition is not None and edition != "enterprise"):
                granted = False
            else:
                if special is None:
                    lost.append("special_request")
                    granted = None
                if edition is None:
                    lost.append("customer.edition")
                    granted = None
                purchased = c.get("license_purchased_at")
                in_year = None if purchased is None else t["created_at"].astimezone(KYIV).date() <= add_months(purchased, 12)
                used = (c.get("coupon") or {}).get("used")
                left = None if used is None else used < 15
                if in_year is False or left is False:
                    granted = False
                elif in_year is None or left is None:
                    if in_year is None:
                        lost.append("customer.license_purchased_at")
                    if left is None:
                        lost.append("customer.coupon.used")
                    granted = None
            if granted is None:
                missing.update(lost)
            chosen = OUTSIDE.get(topic)
            if chosen is None:
                if topic is None:
                    missing.add("topic")
                if granted is True and topic == "installation_work":
                    chosen = "special-request-installation"
                else:
                    chosen = SCOPE.get(topic, "topic-not-classified")
            status = STATUS[chosen]
            reasons = [dict(REASON[chosen])]
            A += RELY[chosen]
            rule = "ordinary-request"
            if granted is True:
                rule = "special-request"
            elif (special is not False and t["channel"] == "portal" and edition in (None, "enterprise")
                  and c.get("license_purchased_at") is None):  # special-request-term-unknown, unless unknown
                if special is True and edition == "enterprise":
                    rule = "special-request-term-unknown"
                else:
                    missing.update(f for f, v in (("special_request", special), ("customer.edition", edition)) if v is None)
            tier = T.tier_of[rule]
            A += TIER_RELY[rule]
            # delay reasons
            problems = t.get("problems_count")
            if problems is None:
                missing.add("problems_count")
            elif problems > 1:
                delays.append(OUT["several-problems"])
                A += RELY["several-problems"]
            reproducible, access = t.get("reproducible"), t.get("site_access_provided")
            if reproducible is not True and access is not True:
                if reproducible is False and access is False:
                    delays.append(OUT["cannot-reproduce-without-access"])
                    delays.append(OUT["no-access-to-project"])
                    A += RELY["cannot-reproduce-without-access"]
                    A += RELY["no-access-to-project"]
                else:
                    if reproducible is None:
                        missing.add("reproducible")
                    if access is None:
                        missing.add("site_access_provided")
            v = t.get("info_sufficient")
            if v is False:
                delays.append(OUT["insufficient-information"])
                A += RELY["insufficient-information"]
            elif v is None:
                missing.add("info_sufficient")
            if t.get("needs_development") is True or t["escalation"] == "development":
                delays.append(OUT["needs-development"])
                A += RELY["needs-development"]
            elif t.get("needs_development") is None:
                missing.add("needs_development")
            flag_delays(t, FLAGS, OUT, RELY, delays, A, missing)
            if status == "out_of_scope":
                delays.append(OUT["outside-support"])
                A += RELY["outside-support"]
            flag_delays(t, LAST_FLAGS, OUT, RELY, delays, A, missing)
            delays = [dict(d) for d in delays]
        # notices
        notices = []
        if accepted:
            if attachment_notice(t, BMP, missing):
                notices.append(OUT["bmp-must-be-archived"])
                A += RELY["bmp-must-be-archived"]
            if attachment_notice(t, SCREENSHOTS, missing):
                notices.append(OUT["screenshot-formats"])
                A += RELY["screenshot-formats"]
            if c.get("edition") is None:
                notices.append(OUT["version-and-edition-needed"])
                A += RELY["version-and-edition-needed"]
            access = t.get("site_access_provided")
            if access is True:
                notices.append(OUT["change-credentials-after-closing"])
                A += RELY["change-credentials-after-closing"]
            elif access is None:
                missing.add("site_access_provided")
        elif not official:  # (an accepted request is official)
            notices.append(OUT["unofficial-channel-for-communication-only"])
            A += RELY["unofficial-channel-for-communication-only"]
        if tier == "standard":
            if not WORKING.is_open(t["created_at"]):
                notices.append(OUT["outside-working-hours"])
                A += RELY["outside-working-hours"]
            if status == "in_scope":
                severity = t.get("severity")
                if severity is not None and severity <= 2:
                    notices.append(OUT["out-of-turn-possible"])
                    A += RELY["out-of-turn-possible"]
        elif tier == "special_request":
            notices.append(OUT["special-request-phone"])
            A += RELY["special-request-phone"]
            if not WORKING.is_open(t["created_at"]):
                notices.append(OUT["special-request-developers-in-working-hours"])
                A += RELY["special-request-developers-in-working-hours"]
            if topic in NO_DEVELOPMENT:
                notices.append(OUT["special-request-no-development"])
                A += RELY["special-request-no-development"]
            elif topic is None:
                missing.add("topic")
        if tier == "standard" and special is not False:
            # special_request == true and not special_request_granted
            if special is True and granted is False:
                notices.append(OUT["special-request-not-granted"])
                A += RELY["special-request-not-granted"]
            elif special is None or granted is None:
                if special is None:
                    missing.add("special_request")
                if granted is None:
                    missing.update(lost)
        if accepted:
            if topic == "payment_integration":
                notices.append(OUT["payment-script-wishes"])
                A += RELY["payment-script-wishes"]
            elif topic is None:
                missing.add("topic")
        notices = [dict(n) for n in notices]
        return {"ticket": t.get("id"), "policy": dict(HEAD), "eligibility": {"status": status, "reasons": reasons},
                "tier": dict(TIER[tier]) if tier else None,
                "deadlines": deadlines(tier, t["created_at"]) if tier else {"first_response": None},
                "delay_reasons": delays, "notices": notices, "missing_facts": sorted(missing),
                "assumptions": assumptions(A)}
    return full_floor
