"""Shared helpers of the benchmark scripts (peers.py, business_time.py, cli.py): timing, tables, the
machine, generated tickets, optional peers.

Every script begins with

    import os, sys
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

so that bench/cli.py does not shadow the
project's `cli.py` when run as `python bench/<script>.py`.
"""
from __future__ import annotations

import gc
import importlib
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()} "
            f"{platform.machine()}, {cpu or 'unknown CPU'}, {cores} core(s) available")


def timed(fn, repeat: int = 3, budget: float = 20.0):
    """(best seconds, last result) of `fn()` over `repeat` runs (fewer if the runs exceed `budget`
    seconds in all). The garbage collector is left on, as in production, but collected first."""
    best, result, spent = float("inf"), None, 0.0
    for i in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if spent > budget and i >= 0:
            break
    return best, result


def optional(module: str, pip_name: str):
    """Import a peer, or return (None, reason) so that the script goes on without it."""
    try:
        return importlib.import_module(module), None
    except Exception as exc:  # ImportError, or a binary wheel that does not load here
        return None, f"{pip_name} not usable on Python {platform.python_version()}: {exc.__class__.__name__}: {exc}" \
                     f" (pip install -e '.[bench]')"


def table(headers, rows, align=None) -> str:
    """A Markdown table (so that the output can be pasted into README.md / docs/performance.md)."""
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]

    def line(values):
        out = []
        for v, w, a in zip(values, widths, align):
            out.append(v.rjust(w) if a == "r" else v.ljust(w))
        return "| " + " | ".join(out) + " |"
    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([line([str(h) for h in headers]), sep] + [line(r) for r in cells])


def fmt_rate(per_second: float) -> str:
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f} M"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.1f} k"
    return f"{per_second:.0f}"


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:.0f}"


def generated_tickets(policy, n: int, seed: int) -> list[dict]:
    """n generated tickets (JSON objects) for a policy: slapolicy.tools.corpus when present (the same
    generator as `slapolicy corpus generate`), else a small deterministic stand-in."""
    try:
        from slapolicy.tools.corpus import generate
    except ImportError:
        return _stand_in_tickets(n, seed)
    return generate(policy, n, seed)


def _stand_in_tickets(n, seed):
    import random

    rng = random.Random(seed)
    topics = ["product_error", "functionality", "basic_usage", "migration", "hosting", "billing", "api_usage",
              "design_integration", "third_party_software", "update_failure", "staff_training"]
    out = []
    for i in range(n):
        day = 1 + rng.randrange(360)
        created = f"2026-{1 + (day // 31) % 12:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"
        customer = {"segment": rng.choice(["commercial", "partner", "non_commercial", "demo"])}
        if rng.random() < 0.6:
            customer["edition"] = rng.choice(["start", "standard", "business", "premium", "ultimate"])
        if rng.random() < 0.6:
            customer["license_active"] = rng.random() < 0.9
        if rng.random() < 0.5:
            customer["license_purchased_at"] = f"2025-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}"
        if rng.random() < 0.3:
            customer["coupon"] = {"issued_at": f"2025-{1 + rng.randrange(12):02d}-{1 + rng.randrange(28):02d}",
                                  "used": rng.randrange(20)}
        t = {"id": f"S-{i}", "created_at": created, "channel": rng.choice(["portal", "email", "chat", "phone"]),
             "customer": customer, "topic": rng.choice(topics),
             "escalation": rng.choice(["none", "none", "none", "development", "consulting"])}
        for flag in ("special_request", "sender_authorized"):
            if rng.random() < 0.5:
                t[flag] = rng.random() < 0.5
        out.append(t)
    return out
