"""Alternative executors of a checked policy, each isolated in its own module.

The reference executor is the engine itself (slapolicy.language.compile / slapolicy.language.codegen / slapolicy.decide.evaluate).
A backend here decides the same tickets by other means; its value is independence: a differential
test (tests/test_durable_backend.py) requires both to agree.

  durable   the policy's rules as a durable-rules ruleset (extra: pip install 'slapolicy[durable]')

Backends are imported lazily (the CLI imports one only when `--backend` names it).
"""

BACKENDS = ("python", "durable")
