"""Deciding tickets with a compiled policy.

Owns `tickets` (validation of a ticket against the vocabulary), `jsonio` (reading JSON input),
`evaluate` (the registration decision: eligibility, tier, deadlines, delay reasons, notices),
`lifecycle` (SLA clocks replayed from a ticket's events), `explain` (a decision as text).

May import: `slapolicy.language`, `slapolicy.calendar`. Never imports the facade, `monitor`, `tools`,
`service` or `backends`.
"""
