"""`slapolicy diff OLD NEW`: what a policy change says, and what it does to tickets.

OLD and NEW are policy files, directories of policies, or git revisions:
  policies/advantshop.yaml          a file in the working tree
  policies/                         every policy file of a directory (paired by file name)
  HEAD~1:policies/advantshop.yaml   a file (or directory) at a revision (`git show`)
  HEAD~1                            the same path as the other side, at that revision
                                    (both sides revisions: the bundled policies/ directory)

Part 1 (changes.py), the semantic changes, one line each with its clause: targets, calendars' hours,
topics that move between in scope / out of scope / consultation, channels accepted or refused, rules
added / removed / with a new condition or outcome / moved in a first-match list, assumptions,
definitions, billing. Topic and channel moves are measured by the compiled rules themselves: a ticket
with only that topic (channel) known is decided by the old and by the new policy (slapolicy.tools.lint
probes).

Part 2 (impact.py), the impact: every ticket of a corpus (JSON Lines, streamed; or a generated one:
slapolicy.tools.corpus with a fixed seed) is decided by both policies; the report counts the tickets
whose eligibility, tier, first-response due time (earlier / later, median and maximum shift), delay
reasons, notices or billing change, and for tickets with events the SLA outcomes at `as_of` that move
(met -> breached, breached -> met, per target), with a few example ticket ids for each change.
Lines that are not tickets are counted and reported, never a reason to lose the others. The work
runs here (over `workers` processes) or on Spark (slapolicy.backends.spark), with the same figures.

sides.py reads and compiles both sides; run.py puts it together; report.py renders it.
"""
from slapolicy.tools.diff.changes import Change, semantic_changes
from slapolicy.tools.diff.impact import (EXAMPLES, Impact, ImpactBuilder, compare, compare_line, corpus_lines,
                                         generated_corpus, impact)
from slapolicy.tools.diff.report import RENDERERS, render_json, render_markdown, render_text
from slapolicy.tools.diff.run import PolicyDiff, any_errors, any_impact, diff, local_impact
from slapolicy.tools.diff.sides import DiffError, compile_side, resolve

__all__ = ["Change", "semantic_changes", "EXAMPLES", "Impact", "ImpactBuilder", "compare", "compare_line",
           "corpus_lines", "generated_corpus", "impact", "RENDERERS", "render_json", "render_markdown",
           "render_text", "PolicyDiff", "any_errors", "any_impact", "diff", "local_impact", "DiffError",
           "compile_side", "resolve"]
