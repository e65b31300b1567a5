"""The engine against a hand-written floor: bitrix-inc's whole decision written by hand in Python.

    python bench/floor.py [--n 10000] [--seed 4] [--measure-n 1500]

`full_floor(t)` builds bitrix-inc's registration decision (eligibility, tier, deadlines, delay reasons,
notices, missing facts, assumptions; explanation off) with hand-written logic (the texts, clause
references and assumption lists are read from the compiled policy, as a hand-written service would
keep them in a table). It is first checked equal to the engine's decision on --n generated tickets;
then the engine / floor ratio is printed for three things:

  full decision       slapolicy.decide.evaluate (explain off) vs full_floor, on validated tickets
  bare tier decision  eligibility + tier: the engine's fused eligibility + tier function, the first part
                      of its generated decision (bench/peers.py slapolicy_bare) vs peers.floor
  JSON Lines          slapolicy.api.decide_jsonl on bytes lines vs an orjson loop around full_floor
                      (orjson.loads, the few conversions the floor needs, full_floor, orjson.dumps)

as instructions per ticket under valgrind's callgrind when valgrind is installed (they do not move
with the machine's load: each figure is the difference of 3 and 1 runs over the same --measure-n
tickets, so start-up, ticket generation and the first run cancel), else as best-of-3 times. The last line is `full decision: X.XXx the hand-written floor`.
"""
import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

POLICY = "bitrix-inc"
ATTACHMENT_NOTICES = (("bmp-must-be-archived", frozenset(["bmp"])),
                      ("screenshot-formats", frozenset(["tif", "tiff", "webp", "heic", "heif", "psd"])))


def _plus_months(day, months):
    from slapolicy.language.builtins import add_months

    return add_months(day, months)


def make_floor(compiled):
    """full_floor(t) for a validated bitrix-inc ticket, by hand"""
    by_id = {r.id: r for g in (compiled.acceptance, compiled.scope, compiled.tier_rules, compiled.delay_reasons,
                               compiled.notices) for r in g}
    known = compiled.assumptions
    ASSUME = {a: {"id": a, "clause": str(v["clause"]), "text": v["text"]} for a, v in known.items()}

    def reason(rid):
        r = by_id[rid]
        return {"rule": r.id, "source": r.source,
                "message": r.message or {"in_scope": "covered by support", "out_of_scope": "not covered by support"}[r.status]}
    REASON = {rid: reason(rid) for rid in by_id}
    RELY = {rid: by_id[rid].assumptions for rid in by_id}
    OUT = {rid: by_id[rid].output for rid in by_id}
    TIERS = {}
    for tid, tier in compiled.tiers.items():
        (d,) = tier.deadlines
        TIERS[tid] = ({"id": tier.id, "name": tier.name, "source": tier.source}, tier.assumptions + d.assumptions, d)
    HEAD = {"id": compiled.id, "version": compiled.version, "hash": compiled.content_hash}
    UTC = dt.timezone.utc
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
                tier_rule = None
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
                del tier_rule
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
            for rid, flag, want in DELAY_FLAGS:
                v = t.get(flag)
                if v is None:
                    missing.add(flag)
                elif v is want:
                    delays.append(OUT[rid])
                    A += RELY[rid]
            if escalation == "development" or t.get("needs_development") is True:
                delays.append(OUT["needs-development"])
                A += RELY["needs-development"]
            elif t.get("needs_development") is None:
                missing.add("needs_development")
            for rid, flag, want in LATER_FLAGS:
                v = t.get(flag)
                if v is None:
                    missing.add(flag)
                elif v is want:
                    delays.append(OUT[rid])
                    A += RELY[rid]
            if status == "out_of_scope":
                delays.append(OUT["outside-support"])
                A += RELY["outside-support"]
            for rid, flag, want in LAST_FLAGS:
                v = t.get(flag)
                if v is None:
                    missing.add(flag)
                elif v is want:
                    delays.append(OUT[rid])
                    A += RELY[rid]
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


def floor_jsonl(full_floor):
    """the floor's JSON Lines loop: orjson in and out, the conversions full_floor needs"""
    import orjson

    UTC = dt.timezone.utc
    date = dt.date.fromisoformat

    def run(lines):
        out = []
        for line in lines:
            t = orjson.loads(line)
            t["created_at"] = dt.datetime.fromisoformat(t["created_at"]).astimezone(UTC)
            c = t["customer"]
            if "license_purchased_at" in c:
                c["license_purchased_at"] = date(c["license_purchased_at"])
            coupon = c.get("coupon")
            if coupon and "issued_at" in coupon:
                coupon["issued_at"] = date(coupon["issued_at"])
            t.setdefault("escalation", "none")
            d = full_floor(t)
            d["explanation"] = []
            out.append(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(out)
    return run


def workloads(n, seed):
    """name -> (engine function over the inputs, floor function over the inputs, inputs)"""
    from bench import peers
    from slapolicy.api import decide_jsonl, load_policy
    from slapolicy.decide.evaluate import evaluate
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.tools.corpus import generate

    policy = load_policy(POLICY)
    compiled = policy.compiled
    raw = generate(policy, n, seed)
    tickets = [validate_ticket(dict(t)) for t in raw]
    lines = [json.dumps(t).encode("utf-8") for t in raw]
    full = make_floor(compiled)
    bare, bare_floor = peers.slapolicy_bare(compiled), peers.floor
    loop = floor_jsonl(full)
    return {
        "full decision": (lambda: [evaluate(compiled, t, explain=False) for t in tickets], lambda: [full(t) for t in tickets]),
        "bare tier decision": (lambda: [bare(t) for t in tickets], lambda: [bare_floor(t) for t in tickets]),
        "JSON Lines": (lambda: decide_jsonl(policy, lines, 1, "<bench>", explain=False), lambda: loop(lines)),
    }, (policy, compiled, tickets, full)


def check(n, seed):
    from slapolicy.decide.evaluate import evaluate

    _, (policy, compiled, tickets, full) = workloads(n, seed)
    differ = 0
    for t in tickets:
        a = evaluate(compiled, t, explain=False)
        a.pop("explanation")
        b = full(t)
        if a != b:
            differ += 1
            if differ == 1:
                print("first difference:", t.get("id"), {k: (a[k], b.get(k)) if k != "assumptions" else [x["id"] for x in a[k]] + ["|"] + [x["id"] for x in b[k]]
                                                    for k in a if a[k] != b.get(k)}, file=sys.stderr)
    return differ


def _child(name, side, n, seed, repeat):
    """run one workload `repeat` times on the same tickets (under callgrind: its instructions)"""
    work, _ = workloads(n, seed)
    engine, floor = work[name]
    for _ in range(repeat):
        (engine if side == "engine" else floor)()


def _instructions(name, side, n, seed, repeat):
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
           "--child", name, side, str(n), str(seed), str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(proc.stderr[-2000:])
    return int(found.group(1))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000, help="tickets checked equal")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--measure-n", type=int, default=1500, help="tickets per measured run")
    ap.add_argument("--times", action="store_true", help="times even when valgrind is installed")
    args = ap.parse_args()
    differ = check(args.n, args.seed)
    print(f"{args.n:,} generated {POLICY} tickets: the engine and the hand-written floor differ on {differ}")
    if differ:
        sys.exit(1)
    use_valgrind = shutil.which("valgrind") and not args.times
    rows = []
    m = args.measure_n
    work, _ = workloads(m, args.seed + 1)
    for name in work:
        if use_valgrind:
            per = {}
            for side in ("engine", "floor"):
                one, three = (_instructions(name, side, m, args.seed + 1, k) for k in (1, 3))
                per[side] = (three - one) / (2 * m)  # two warm runs: set-up and the first run cancel
            unit = "instructions / ticket"
            rows.append((name, per["engine"], per["floor"], unit))
        else:
            engine, floor = work[name]
            best = {}
            for side, fn in (("engine", engine), ("floor", floor)):
                fn()
                runs = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    fn()
                    runs.append(time.perf_counter() - t0)
                best[side] = min(runs) / m * 1e6
            rows.append((name, best["engine"], best["floor"], "us / ticket"))
    print("| workload | engine | hand-written floor | unit | engine / floor | target |")
    print("|---|---:|---:|---|---:|---:|")
    targets = {"full decision": 1.3, "bare tier decision": 1.5, "JSON Lines": 1.3}
    for name, engine, floor, unit in rows:
        fmt = (lambda v: f"{v / 1000:,.1f} k") if unit.startswith("instr") else (lambda v: f"{v:.2f}")
        print(f"| {name} | {fmt(engine)} | {fmt(floor)} | {unit} | {engine / floor:.2f}x | <= {targets[name]}x |")
    full = next(r for r in rows if r[0] == "full decision")
    print(f"full decision: {full[1] / full[2]:.2f}x the hand-written floor")


if __name__ == "__main__":
    main()
