"""Tickets with optional facts left out (tests of the generated functions against the closures:
tests/test_fast_path.py, tests/test_classify.py). Use: `from facts import drop`."""
import copy


def drop(ticket, keys):
    """the ticket without the optional facts named by `keys` (top level and customer.*)"""
    out = copy.deepcopy(ticket)
    for key in keys:
        if key.startswith("customer."):
            out["customer"].pop(key.split(".", 1)[1], None)
        elif key not in ("id", "created_at", "channel", "customer"):
            out.pop(key, None)
    return out
