"""Example tickets for the pages: the checkout's samples/ and the bundled policies' test cases."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DEFAULT_POLICY = "advantshop"
SAMPLES_DIR = Path(__file__).resolve().parents[3] / "samples"  # the checkout's samples (absent in a wheel)


# The README's example, for the landing page when the checkout's samples/ is not there (a wheel).
FRIDAY_EVENING = {"id": "AS-2", "created_at": "2026-03-06T19:00:00+03:00", "channel": "email",
                  "customer": {"segment": "commercial", "license_active": True},
                  "product_version_current": True, "topic": "functionality", "problems_count": 1}


@lru_cache(maxsize=4)
def _samples(stamp) -> tuple:
    out = []
    for f in sorted(SAMPLES_DIR.glob("*.json")):
        try:
            ticket = json.loads(f.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(ticket, dict):
            out.append((f.stem, ticket))
    return tuple(out)


def all_examples() -> tuple:
    """(name, ticket) of the checkout's samples/ (none in an installed wheel)."""
    try:
        files = list(SAMPLES_DIR.glob("*.json")) if SAMPLES_DIR.is_dir() else []
        stamp = (len(files), max((p.stat().st_mtime for p in files), default=0))
    except OSError:
        return ()
    return _samples(stamp) if files else ()


def _example_policy(name, pid) -> bool:
    return name == pid or name.startswith(pid + "-")


def example_for(pid) -> dict | None:
    """The landing page's ticket for a policy: a named sample `<id>-<what>.json` first, then `<id>.json`;
    for advantshop without samples/, the README's Friday-evening ticket."""
    found = [(n, t) for n, t in all_examples() if _example_policy(n, pid)]
    if found:
        name, ticket = min(found, key=lambda x: (x[0] == pid, x[0]))
        return {"name": name, "ticket": ticket}
    if pid == "advantshop":
        return {"name": "advantshop-friday-evening", "ticket": FRIDAY_EVENING}
    return None
