"""bitrix-inc's full decision by hand (policies/bitrix-inc.yaml; bench/floors/__init__.py says what is allowed)."""
import datetime as dt
import re

from bench.floors import Tables, UTC, flag_delays
from slapolicy.language.builtins import add_months as _plus_months

ATTACHMENT_NOTICES = (("bmp-must-be-archived", frozenset(["bmp"])),
                      ("screenshot-formats", frozenset(["tif", "tiff", "webp", "heic", "heif", "psd"])))


def make_floor(compiled):
    """full_floor(t) for a validated bitrix-inc ticket, by hand"""
    T = Tables(compiled)
    ASSUME, REASON, RELY, OUT, HEAD = T.assume, T.reason, T.rely, T.out, T.head
    TIERS = {}
    for tid, tier in compiled.tiers.items():
        (d,) = tier.deadlines
        TIERS[tid] = ({"id": tier.id, "name": tier.name, "source": tier.source}, tier.assumptions + d.assumptions, d)
    SCOPE = []  # (rule id, topics, segments or None)
    for r in compiled.data["scope"]:
        when = r.get("when")
        if when is None:
            continue
        topics = re.findall(r'"([a-z_]+)"', when.split("topic", 1)[1])
        segments = ("non_commercial", "demo") if "customer.segment" in when else None
        SCOPE.append((r["id"], frozenset(topics), segments, r["status"]))
    DELAY_FLAGS = (("insufficient-information", "info_sufficient", False),)
    LATER_FLAGS = (("technical-requirements-violated", "requirements_violated", True), ("core-modified", "core_modified", True),
                   ("installations-exceeded", "installations_exceeded", True), ("unlicensed-copy", "licensed_copy", False))
    LAST_FLAGS = (("unconstructive-discussion", "unconstructive", True), ("abusive-language", "abusive_language", True))

    def full_floor(t):
        missing = set()
        A = []
        c = t["customer"]
        channel, segment = t["channel"], c["segment"]
        official = channel == "portal" or channel == "email"
        created_day = t["created_at"].date()  # bitrix-inc counts in UTC; validated instants are UTC
        refusals = []
        if not official:
            refusals.append("unofficial-channel")
        if segment == "commercial":
            purchased = c.get("license_purchased_at")
            if purchased is None:
                missing.add("customer.license_purchased_at")
            elif created_day >= _plus_months(purchased, 12):
                refusals.append("commercial-support-period-over")
            active = c.get("license_active")
            if active is None:
                missing.add("customer.license_active")
            elif active is False:
                refusals.append("commercial-licence-inactive")
        elif segment == "non_commercial" or segment == "demo":
            purchased = c.get("license_purchased_at")
            if purchased is None:
                missing.add("customer.license_purchased_at")
            elif created_day >= purchased + dt.timedelta(days=30):
                refusals.append("non-commercial-support-period-over")
        escalation = t["escalation"]
        tier = None
        delays = []
        if refusals:
            status = "not_accepted"
            reasons = [dict(REASON[r]) for r in refusals]
            for r in refusals:
                A += RELY[r]
        else:
            topic = t.get("topic")
            chosen = "topic-not-classified"
            status = "in_scope"
            if topic is None:
                missing.add("topic")
            else:
                for rid, topics, segments, value in SCOPE:
                    if topic in topics and (segments is None or segment in segments):
                        chosen, status = rid, value
                        break
            reasons = [dict(REASON[chosen])]
            A += RELY[chosen]
            # identified: channel != email or lower(sender) == lower(licence) or sender_authorized == true

            def identified(lost):
                if channel != "email":
                    return True
                sender, licence, authorized = t.get("sender_email"), c.get("license_email"), t.get("sender_authorized")
                if authorized is True:
                    return True
                if sender is not None and licence is not None and sender.lower() == licence.lower():
                    return True
                unknown = False
                if sender is None or licence is None:
                    if sender is None:
                        lost.append("sender_email")
                    if licence is None:
                        lost.append("customer.license_email")
                    unknown = True
                if authorized is None:
                    lost.append("sender_authorized")
                    unknown = True
                return None if unknown else False

            def vip_customer(lost):
                if segment != "commercial":
                    return False
                edition = c.get("edition")
                if edition is not None and edition not in ("premium", "ultimate"):
                    return False
                mark = len(lost)
                ident = identified(lost)
                if ident is False:
                    del lost[mark:]
                    return False
                if edition is None:
                    lost.append("customer.edition")
                    return None
                return ident

            if escalation == "consulting":
                tier = "consulting"
                rule = "moved-to-consulting"
            elif status == "out_of_scope":
                tier, rule = "consulting", "beyond-scope-consulting"
            else:
                lost = []
                special = t.get("special_request")
                vip = None
                if special is False:
                    pass
                else:
                    if special is None:
                        lost.append("special_request")
                    vip = vip_customer(lost)
                    if vip is not False:
                        issued = (c.get("coupon") or {}).get("issued_at")
                        valid = None if issued is None else created_day < _plus_months(issued, 12)
                        if valid is None:
                            lost.append("customer.coupon.issued_at")
                        if valid is not False:
                            if special is True and vip is True and valid is True:
                                tier, rule = "vip_request", "vip-request"
                            else:
                                missing.update(lost)
                if tier is None:
                    lost = []
                    vip = vip_customer(lost)
                    if vip is True:
                        tier, rule = "vip", "vip-support"
                    elif vip is None:
                        missing.update(lost)
                if tier is None:
                    lost = []
                    ident = identified(lost)
                    if ident is None:
                        if escalation == "development" and segment in ("partner", "commercial"):
                            missing.update(lost)
                        if segment == "partner" or segment == "commercial":
                            missing.update(lost)
                    if escalation == "development" and segment in ("partner", "commercial") and ident is True:
                        tier, rule = "development", "passed-to-development"
                    elif segment == "partner" and ident is True:
                        tier, rule = "partner", "partners"
                    elif segment == "commercial" and ident is True:
                        tier, rule = "commercial", "commercial-clients"
                    else:
                        tier, rule = "non_commercial", "non-commercial-and-unidentified"
            A += RELY[rule]
            A += TIERS[tier][1]
            # delay reasons
            reproducible, access = t.get("reproducible"), t.get("site_access_provided")
            if reproducible is not True and access is not True:
                if reproducible is False and access is False:
                    delays.append(OUT["cannot-reproduce-without-access"])
                    delays.append(OUT["no-access-to-project"])
                    A += RELY["cannot-reproduce-without-access"] + RELY["no-access-to-project"]
                else:
                    if reproducible is None:
                        missing.add("reproducible")
                    if access is None:
                        missing.add("site_access_provided")
            flag_delays(t, DELAY_FLAGS, OUT, RELY, delays, A, missing)
            if escalation == "development" or t.get("needs_development") is True:
                delays.append(OUT["needs-development"])
                A += RELY["needs-development"]
            elif t.get("needs_development") is None:
                missing.add("needs_development")
            flag_delays(t, LATER_FLAGS, OUT, RELY, delays, A, missing)
            if status == "out_of_scope":
                delays.append(OUT["outside-support"])
                A += RELY["outside-support"]
            flag_delays(t, LAST_FLAGS, OUT, RELY, delays, A, missing)
            delays = [dict(d) for d in delays]
        # notices (a notice about handling a request only for an accepted one)
        notices = []
        accepted = status != "not_accepted"
        ONLY = "notices-only-for-accepted-requests"
        attachments = t.get("attachments") if accepted else None
        for rid, formats in ATTACHMENT_NOTICES:
            if attachments:
                fired, lost = False, False
                for a in attachments:
                    f = a.get("format")
                    if f is None:
                        lost = True
                    elif f in formats:
                        fired = True
                        break
                if fired:
                    notices.append(OUT[rid])
                    A.append(ONLY)
                elif lost:
                    missing.add("a.format")
        if status == "in_scope":
            severity = t.get("severity")
            if severity is not None and severity <= 2:
                notices.append(OUT["out-of-turn-possible"])
                A += RELY["out-of-turn-possible"]
        if accepted:
            access = t.get("site_access_provided")
            if access is True:
                notices.append(OUT["change-credentials-after-resolution"])
                A.append(ONLY)
            elif access is None:
                missing.add("site_access_provided")
        if not official:
            notices.append(OUT["unofficial-channel-for-contacts-only"])
            A += RELY["unofficial-channel-for-contacts-only"]
        if channel == "email":
            if accepted:
                notices.append(OUT["email-needs-tid-confirmation"])
                A.append(ONLY)
            if segment in ("commercial", "partner") and tier == "non_commercial":
                notices.append(OUT["commercial-level-needs-licence-email"])
                A += RELY["commercial-level-needs-licence-email"]
        if tier == "vip_request":
            notices.append(OUT["vip-coupon-balance-check"])
            A += RELY["vip-coupon-balance-check"]
        elif accepted:
            special = t.get("special_request")
            if special is True:
                notices.append(OUT["vip-request-not-granted"])
                A += RELY["vip-request-not-granted"]
            elif special is None:
                missing.add("special_request")
        if escalation == "development":
            if tier == "vip" or tier == "vip_request":
                notices.append(OUT["vip-development-keeps-level"])
                A += RELY["vip-development-keeps-level"]
            elif tier == "non_commercial":
                notices.append(OUT["non-commercial-not-propagated"])
                A += RELY["non-commercial-not-propagated"]
        notices = [dict(n) for n in notices]
        if tier is None:
            tier_out, deadlines = None, {"first_response": None}
        else:
            entry, relied, d = TIERS[tier]
            tier_out = dict(entry)
            due = d.calendar.add(t["created_at"], d.target) if d.kind != "none" else None
            due_text = due.astimezone(UTC).isoformat() if due is not None else None
            deadlines = {"first_response": None, d.name: {
                "due": due_text if d.kind == "within" else None, "not_before": due_text if d.kind == "from" else None,
                "target": d.text, "calendar": d.calendar_name, "source": d.source}}
        return {"ticket": t.get("id"), "policy": dict(HEAD), "eligibility": {"status": status, "reasons": reasons},
                "tier": tier_out, "deadlines": deadlines, "delay_reasons": delays, "notices": notices,
                "missing_facts": sorted(missing),
                "assumptions": [dict(ASSUME[a]) for a in dict.fromkeys(A) if a in ASSUME]}
    return full_floor
