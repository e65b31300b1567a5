"""The durable-rules backend: a second, independent executor of a checked policy.

    from slapolicy.api import load_policy
    from slapolicy.backends.durable import DurablePolicy
    decision = DurablePolicy(load_policy("bitrix-inc")).evaluate(ticket)

The acceptance, scope, tier, delay-reason, notice and billing-rate rules of the checked policy are
turned into durable-rules JSON ruleset definitions, one ruleset per policy edition, generated from
the checked expression trees (never from the engine's closures or generated code). Each ticket gets
a throw-away durable session: one fact per stage is asserted into it (the ticket's referenced
fields, the stage values decided so far, a few derived values), durable's Rete network says which
rules match, Python keeps the stage order (every acceptance rule that fires refuses; the first
scope / tier rule that fires decides; every delay reason / notice / rate that fires counts), and
the session is deleted. Deadlines reuse slapolicy.calendar. The durable Host runs without its
background timer threads (nothing here uses timers, and the timer thread racing `delete_state`
is a known crash).

Three-valued logic. A missing fact is UNKNOWN (docs/language.md): a rule fires only when its
condition is *true*. Each condition is translated twice over, into T(e) ("e is true") and F(e)
("e is false"), pushing negation down (T(not e) = F(e), F(a and b) = F(a) or F(b), ...). Atoms
match only facts that are present: durable does not match a comparison on a missing property,
except with another property of the fact as right operand (`{"$m": ...}`), which durable matches
when that property is missing; such atoms get an explicit `$ex` guard.

What durable cannot express (arithmetic on dates and durations, the built-in functions, `is_open`,
anything else) is computed in Python by the small evaluator of this module into a derived value
(`_d<n>` of the fact, or of each list item under a quantifier) that the rules then compare. The
evaluator is written from the language's documentation, independently of slapolicy.language.compile,
slapolicy.language.codegen and slapolicy.language.builtins, so a divergence shows up in the differential test.

Known durable-rules limits (docs/performance.md): at most 1,024 live sessions per ruleset (so each
ticket's session is deleted at once); sessions are found by a 32-bit FNV hash of the sid and a
collision is not detected (so at most one session is ever alive); an event is consumed by the
first rule that matches (so the stages are asserted as facts, which every matching rule sees);
a lone `$nex` condition loops forever (so every rule also tests the stage, and a lone `$nex` never
occurs); integers beyond 64 bits and string ordering on escaped characters are not portable.

Not produced by this backend: the explanation (always []), missing_facts and the lifecycle
(`as_of`, events); the decision carries "backend": "durable-rules".
"""
from __future__ import annotations

from slapolicy.backends.durable.evaluator import BACKEND, DurableBackendError
from slapolicy.backends.durable.policy import DurablePolicy, load
from slapolicy.backends.durable.translate import ruleset_definition

__all__ = ["DurablePolicy", "DurableBackendError", "ruleset_definition", "load", "BACKEND"]
