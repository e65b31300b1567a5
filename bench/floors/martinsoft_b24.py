"""martinsoft-b24's full decision by hand (policies/martinsoft-b24.yaml; bench/floors/__init__.py says what is allowed)."""
from bench.floors import Tables, deadline_maker, flag_delays

# acceptance: a form field that is absent or blank refuses the request; without a form the field is unknown
FORM_FIELDS = (("form-no-contact-person", "contact_person"), ("form-no-phone", "phone"), ("form-no-email", "email"),
               ("form-no-environment", "environment"), ("form-no-business-impact", "business_impact"),
               ("form-no-description", "description"))
NO_FORM_MISSING = tuple("form." + f for _, f in FORM_FIELDS)
SEVERITY_RULE = {1: "critical-lowered-to-serious", 2: "serious-impact", 3: "minor-impact", 4: "no-business-impact"}
DELAY_FLAGS = (("third-party-failure", "third_party_service", True), ("requirements-violated", "requirements_violated", True),
               ("hosting-below-requirements", "hosting_meets_requirements", False))


def make_floor(compiled):
    """full_floor(t) for a validated martinsoft-b24 ticket"""
    T = Tables(compiled)
    REASON, RELY, OUT, TIER, TIER_RELY, TIER_OF = T.reason, T.rely, T.out, T.tier, T.tier_rely, T.tier_of
    HEAD, STATUS = T.head, T.status
    assumptions, deadlines = T.assumptions, deadline_maker(compiled)
    SCOPE = T.first_topic(["excluded-application-development", "excluded-third-party-failures", "included-services"])
    WORKING = compiled.calendars["working_hours"]
    (RATE,) = compiled.billing_rates
    MINIMUM = {"minimum_minutes": compiled.billing_minimum["value"], "minimum_source": str(compiled.billing_minimum["source"])}
    RATE_OUT = {"rule": RATE.id, "source": RATE.source, "multiplier": RATE.multiplier, "message": RATE.message}

    def full_floor(t):
        missing = set()
        A = []
        c = t["customer"]
        refusals = []
        if t["channel"] != "email":
            refusals.append("not-sent-by-email")
        authorized = t.get("sender_authorized")
        if authorized is False:
            refusals.append("unauthorised-sender")
        elif authorized is None:
            missing.add("sender_authorized")
        active = c.get("license_active")
        if active is False:
            refusals.append("no-box-licence")
        elif active is None:
            missing.add("customer.license_active")
        if c["segment"] == "demo":
            refusals.append("demo-user")
        form = t.get("form")
        severity = t.get("severity")
        if form is None:
            missing.update(NO_FORM_MISSING)
        else:
            for rid, field in FORM_FIELDS:
                value = form.get(field)
                if value is None or not value.strip():
                    refusals.append(rid)
            if severity is None:
                refusals.append("form-no-severity")
        accepted = not refusals
        tier = None
        delays = []
        topic = t.get("topic")
        if not accepted:
            status = "not_accepted"
            reasons = [dict(REASON[r]) for r in refusals]
            for r in refusals:
                A += RELY[r]
        else:
            if topic is None:
                missing.add("topic")
                chosen = "topic-unknown"
            else:
                chosen = SCOPE.get(topic, "not-in-service-list")
            status = STATUS[chosen]
            reasons = [dict(REASON[chosen])]
            A += RELY[chosen]
            terms = t.get("critical_terms_accepted")
            if severity is None:
                missing.add("severity")
                if terms is None:
                    missing.add("critical_terms_accepted")
                rule = "severity-unknown"
            elif severity == 1 and terms is True:
                rule = "critical-with-duties"
            else:
                if severity == 1 and terms is None:
                    missing.add("critical_terms_accepted")
                rule = SEVERITY_RULE.get(severity, "severity-unknown")
            tier = TIER_OF[rule]
            A += TIER_RELY[rule]
            # delay reasons
            sufficient = t.get("info_sufficient")
            if sufficient is False:
                delays.append(OUT["insufficient-information"])
                A += RELY["insufficient-information"]
            elif sufficient is None:
                missing.add("info_sufficient")
            if status == "out_of_scope":
                delays.append(OUT["outside-services"])
                A += RELY["outside-services"]
            flag_delays(t, DELAY_FLAGS, OUT, RELY, delays, A, missing)
            delays = [dict(d) for d in delays]
        # notices
        notices = []
        if tier == "critical":
            notices.append(OUT["critical-duties"])
            A += RELY["critical-duties"]
        if accepted:
            if t.get("critical_terms_accepted") is not True:
                if severity == 1:
                    notices.append(OUT["critical-needs-confirmation"])
                    A += RELY["critical-needs-confirmation"]
                elif severity is None:
                    missing.add("severity")
            if topic == "performance_consulting":
                notices.append(OUT["performance-data"])
                A += RELY["performance-data"]
            elif topic is None:
                missing.add("topic")
            if sufficient is False:
                notices.append(OUT["recommended-information"])
                A += RELY["recommended-information"]
        notices = [dict(n) for n in notices]
        decision = {"ticket": t.get("id"), "policy": dict(HEAD), "eligibility": {"status": status, "reasons": reasons},
                    "tier": dict(TIER[tier]) if tier else None,
                    "deadlines": deadlines(tier, t["created_at"]) if tier else {"first_response": None},
                    "delay_reasons": delays, "notices": notices}
        if accepted and not WORKING.is_open(t["created_at"]):
            decision["billing"] = {**MINIMUM, "rate_multiplier": RATE.multiplier, "rates": [dict(RATE_OUT)]}
            A += RATE.assumptions
        else:
            decision["billing"] = {**MINIMUM, "rate_multiplier": 1, "rates": []}
        decision["missing_facts"] = sorted(missing)
        decision["assumptions"] = assumptions(A)
        return decision
    return full_floor
