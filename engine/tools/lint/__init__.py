"""`slapolicy lint`: static analysis of a policy from the declared fact domains.

The analysis runs the policy's own compiled rules (the evaluator's generated functions,
slapolicy.language.codegen, the same ones `Policy.evaluate` uses) over tickets drawn from the domains of the
facts its expressions read, and derives findings from which rule fired for which ticket:

  gap             (error)    accepted tickets that no scope / tier rule decides (a list without a default)
  shadowed-rule   (warning)  a first-match rule whose condition holds only where an earlier rule fires first
  never-true      (warning)  a rule whose condition holds for no ticket of the domains
  overlap         (info)     two first-match rules with different outcomes that both hold on some tickets
  unclassified-topics        topics no scope rule names: the default rule decides them
  tier-without-targets       a tier without a first_response target: its tickets get no deadline
  missing-source  (warning)  a rule, tier, target, calendar or definition with a blank `source`
  holiday-data-limit (warning) a calendar whose `holidays` data the package confirms only up to a year
                             (RU's production calendar, UA under martial law: slapolicy.calendar.holidata)
  unused-* / unreachable-rule  the checker's warnings, repeated here

Fact domains (the "declared" ones: engine/language/schemas/ticket.schema.json plus the literals the policy
uses): enums reduce to the values the policy names plus one value it does not name (every unnamed
value behaves the same), booleans are true / false, integers are the boundaries of the literals they
are compared with within their schema range (severity 1..4, problems_count 0 / 1 / 2+), strings the
literals plus two other values (so that two fields can be equal or not), dates lie just before / on /
after the durations and dates the policy uses, `created_at` one instant per combination of open /
closed calendars, lists empty or with one item per literal. Every optional fact also takes the value
"missing" (unknown), exactly as a ticket without that field.

The ticket space of a first-match list is the product of the domains of the facts its rules read
(and, for tier rules that read `eligibility`, the scope rules' facts). Facts only the acceptance rules
read are not varied: each ticket is completed with values that let it be accepted (found by a search
over their domains), since only accepted tickets reach scope and tier rules. When the product is larger
than `limit`, a seeded sample is used instead (random tickets plus, for every rule, tickets built to
make it true), and the findings say so.
"""
from __future__ import annotations

from slapolicy.tools.lint.findings import DEFAULT_LIMIT, ERROR, INFO, WARNING, Finding, LintResult
from slapolicy.tools.lint.probes import (
                                         build_ticket,
                                         channel_acceptance,
                                         probe_ticket,
                                         run_stages,
                                         ticket_json,
                                         topic_scope,
                                         truth,
)
from slapolicy.tools.lint.run import lint_file, lint_paths, lint_text

__all__ = ["lint_text", "lint_file", "lint_paths", "Finding", "LintResult", "ERROR", "WARNING", "INFO", "DEFAULT_LIMIT",
           "build_ticket", "ticket_json", "truth", "run_stages", "probe_ticket", "channel_acceptance", "topic_scope"]
