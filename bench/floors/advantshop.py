"""advantshop's full decision by hand (policies/advantshop.yaml; bench/floors/__init__.py says what is allowed)."""
from bench.floors import Tables, attachment_notice, deadline_maker, flag_delays

OFFICIAL = frozenset(["portal", "email", "phone"])
BMP = frozenset(["bmp"])
SCREENSHOTS = frozenset(["tif", "tiff", "webp", "heic", "heif", "svg", "psd"])
# delay reasons after the first: (rule id, flag, the value that fires it); `outside-support` sits before the last two
FLAGS = (("no-site-access", "site_access_provided", False), ("cannot-reproduce", "reproducible", False),
         ("unconstructive", "unconstructive", True), ("insufficient-information", "info_sufficient", False),
         ("developer-recommendations-violated", "requirements_violated", True), ("code-modified", "core_modified", True),
         ("hosting-requirements-unmet", "hosting_meets_requirements", False))
LAST_FLAGS = (("third-party-service", "third_party_service", True), ("needs-development", "needs_development", True))


def make_floor(compiled):
    """full_floor(t) for a validated advantshop ticket"""
    T = Tables(compiled)
    REASON, RELY, OUT, TIER, TIER_RELY = T.reason, T.rely, T.out, T.tier, T.tier_rely
    HEAD, STATUS, TIER_OF = T.head, T.status, T.tier_of
    assumptions, deadlines = T.assumptions, deadline_maker(compiled)
    # scope: the topic lists before the core-modified exception, the rest of "not support", then "support"
    EARLY = T.first_topic(["not-support-general-list", "not-support-installation", "not-support-performance",
                           "not-support-update-connectivity"])
    UPDATES = T.topics("not-support-update-after-modification")
    LATE = T.first_topic(["not-support-error-classes", "not-support-development", "not-support-custom-work",
                          "not-support-third-party-failure"])
    SUPPORT = T.first_topic(["support-general-questions", "support-system-questions", "support-installation-consulting",
                             "support-updates", "support-product-errors", "support-development-questions"])
    CONSULTING_TOPICS = T.topics("general-consulting-questions")
    OTHER_VENDOR = T.topics("ask-other-vendor")
    ERRORS = T.topics("general-recommendations-only")

    def full_floor(t):
        missing = set()
        A = []
        c = t["customer"]
        segment = c["segment"]
        topic = t.get("topic")
        refusals = []
        official = t["channel"] in OFFICIAL
        if not official:
            refusals.append("unofficial-channel")
        if segment != "demo":
            active = c.get("license_active")
            if active is None:
                missing.add("customer.license_active")
            elif active is False:
                refusals.append("no-contract-in-force")
        accepted = not refusals
        tier = None
        delays = []
        if not accepted:
            status = "not_accepted"
            reasons = [dict(REASON[r]) for r in refusals]
            for r in refusals:
                A += RELY[r]
        else:
            version_current = t.get("product_version_current")
            if topic is None:
                missing.add("topic")
                if t.get("core_modified") is None:
                    missing.add("core_modified")
                chosen = None
            else:
                chosen = EARLY.get(topic)
                if chosen is None and topic in UPDATES:
                    modified = t.get("core_modified")
                    if modified is True:
                        chosen = "not-support-update-after-modification"
                    elif modified is None:
                        missing.add("core_modified")
                if chosen is None:
                    chosen = LATE.get(topic)
            if chosen is None:
                if version_current is False:
                    chosen = "outdated-version-consultation"
                else:
                    if version_current is None:
                        missing.add("product_version_current")
                    chosen = SUPPORT.get(topic, "other-questions")
            status = STATUS[chosen]
            reasons = [dict(REASON[chosen])]
            A += RELY[chosen]
            escalation = t["escalation"]
            if escalation == "development":
                rule = "handed-to-development"
            elif escalation == "consulting":
                rule = "moved-to-consulting"
            elif status == "out_of_scope":
                rule = "outside-support-consulting"
            elif status == "consultation_only":
                rule = "outdated-version-consulting"
            elif topic in CONSULTING_TOPICS:
                rule = "general-consulting-questions"
            else:
                if topic is None:
                    missing.add("topic")
                rule = "partners" if segment == "partner" else "free-support"
            tier = TIER_OF[rule]
            A += TIER_RELY[rule]
            # delay reasons
            problems = t.get("problems_count")
            if problems is None:
                missing.add("problems_count")
            elif problems > 1:
                delays.append(OUT["several-problems"])
                A += RELY["several-problems"]
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
            severity = t.get("severity")
            if severity is not None and severity <= 2:
                notices.append(OUT["out-of-turn-possible"])
                A += RELY["out-of-turn-possible"]
                if severity == 1:
                    access = t.get("site_access_provided")
                    if access is False:
                        notices.append(OUT["emergency-server-access"])
                        A += RELY["emergency-server-access"]
                    elif access is None:
                        missing.add("site_access_provided")
            if c.get("edition") is None:
                notices.append(OUT["version-and-edition"])
                A += RELY["version-and-edition"]
            form = t.get("form")
            if form is not None and form.get("description") is None:
                notices.append(OUT["problem-description"])
                A += RELY["problem-description"]
            if version_current is False:
                notices.append(OUT["outdated-consultation-limited"])
                A += RELY["outdated-consultation-limited"]
            elif version_current is None:
                missing.add("product_version_current")
        if topic == "hosting":
            notices.append(OUT["hosting-partners"])
            A += RELY["hosting-partners"]
        elif topic is None:
            missing.add("topic")
        if topic in OTHER_VENDOR or t.get("third_party_service") is True:
            notices.append(OUT["ask-other-vendor"])
            A += RELY["ask-other-vendor"]
        elif topic is None or t.get("third_party_service") is None:
            if topic is None:
                missing.add("topic")
            if t.get("third_party_service") is None:
                missing.add("third_party_service")
        if accepted:
            if topic == "payment_integration":
                notices.append(OUT["payment-integration-wish"])
                A += RELY["payment-integration-wish"]
            elif topic in ERRORS:
                notices.append(OUT["general-recommendations-only"])
                A += RELY["general-recommendations-only"]
        notices = [dict(n) for n in notices]
        return {"ticket": t.get("id"), "policy": dict(HEAD), "eligibility": {"status": status, "reasons": reasons},
                "tier": dict(TIER[tier]) if tier else None,
                "deadlines": deadlines(tier, t["created_at"]) if tier else {"first_response": None},
                "delay_reasons": delays, "notices": notices, "missing_facts": sorted(missing),
                "assumptions": assumptions(A)}
    return full_floor
