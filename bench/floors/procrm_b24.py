"""procrm-b24's full decision by hand (policies/procrm-b24.yaml; bench/floors/__init__.py says what is allowed)."""
from bench.floors import Tables, attachment_notice, deadline_maker, flag_delays

OFFICIAL = frozenset(["portal", "chat"])
SCREENSHOTS = frozenset(["bmp", "tif", "tiff", "webp", "heic", "heif"])
# delay reasons after the first two: (rule id, flag, the value that fires it); `outside-support` comes last
FLAGS = (("unlicensed-copy", "licensed_copy", False), ("insufficient-information", "info_sufficient", False),
         ("technical-requirements-violated", "requirements_violated", True), ("core-modified", "core_modified", True),
         ("installations-exceeded", "installations_exceeded", True), ("unconstructive-discussion", "unconstructive", True),
         ("abusive-language", "abusive_language", True), ("needs-development", "needs_development", True))
MINOR_FIXES = {False: "minor-fixes-other-implementer", True: "minor-fixes-own-implementation",
               None: "minor-fixes-implementer-unknown"}


def make_floor(compiled):
    """full_floor(t) for a validated procrm-b24 ticket"""
    T = Tables(compiled)
    REASON, RELY, OUT, TIER, TIER_RELY, TIER_OF = T.reason, T.rely, T.out, T.tier, T.tier_rely, T.tier_of
    HEAD, STATUS = T.head, T.status
    assumptions, deadlines = T.assumptions, deadline_maker(compiled)
    OUTSIDE = T.first_topic(["not-support-business-processes", "not-support-previous-integrator",
                             "not-support-staff-training", "not-support-new-development"])
    INSIDE = T.first_topic(["support-included", "support-level-questions"])
    BY_TOPIC = T.first_topic(["consultant-questions", "project-manager-questions", "engineer-questions"])

    def full_floor(t):
        missing = set()
        A = []
        c = t["customer"]
        official = t["channel"] in OFFICIAL
        tier = None
        delays = []
        if not official:
            status = "not_accepted"
            reasons = [dict(REASON["unofficial-channel"])]
            A += RELY["unofficial-channel"]
        else:
            topic = t.get("topic")
            if topic is None:
                missing.add("topic")
                if t.get("implemented_by_vendor") is None:
                    missing.add("implemented_by_vendor")
                chosen = "other-portal-questions"
            elif topic == "minor_fixes":
                by_vendor = t.get("implemented_by_vendor")
                if by_vendor is None:
                    missing.add("implemented_by_vendor")
                chosen = MINOR_FIXES[by_vendor]
            else:
                chosen = OUTSIDE.get(topic) or INSIDE.get(topic, "other-portal-questions")
            status = STATUS[chosen]
            reasons = [dict(REASON[chosen])]
            A += RELY[chosen]
            escalation = t.get("escalation")
            if escalation == "project_manager_failed":
                rule = "project-manager-could-not-solve"
            elif escalation == "development":
                rule = "handed-to-development"
            elif status == "out_of_scope":
                rule = "outside-support-to-project-manager"
            else:
                rule = BY_TOPIC.get(topic, "first-line-consultant")  # (topic None: listed missing above)
            tier = TIER_OF[rule]
            A += TIER_RELY[rule]
            # delay reasons
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
            flag_delays(t, FLAGS, OUT, RELY, delays, A, missing)
            if status == "out_of_scope":
                delays.append(OUT["outside-support"])
                A += RELY["outside-support"]
            delays = [dict(d) for d in delays]
        # notices
        notices = []
        active = c.get("license_active")
        if active is True:
            notices.append(OUT["bitrix24-free-support"])
            A += RELY["bitrix24-free-support"]
        elif active is None:
            missing.add("customer.license_active")
        if official:
            if attachment_notice(t, SCREENSHOTS, missing):
                notices.append(OUT["screenshot-formats"])
                A += RELY["screenshot-formats"]
            if c.get("edition") is None:
                notices.append(OUT["version-and-edition"])
                A += RELY["version-and-edition"]
            access = t.get("site_access_provided")
            if access is False:
                notices.append(OUT["remote-access-anydesk"])
                A += RELY["remote-access-anydesk"]
            elif access is None:
                missing.add("site_access_provided")
        else:
            notices.append(OUT["unofficial-channel-staff-discretion"])
            A += RELY["unofficial-channel-staff-discretion"]
        notices = [dict(n) for n in notices]
        return {"ticket": t.get("id"), "policy": dict(HEAD), "eligibility": {"status": status, "reasons": reasons},
                "tier": dict(TIER[tier]) if tier else None,
                "deadlines": deadlines(tier, t["created_at"]) if tier else {"first_response": None},
                "delay_reasons": delays, "notices": notices, "missing_facts": sorted(missing),
                "assumptions": assumptions(A)}
    return full_floor
