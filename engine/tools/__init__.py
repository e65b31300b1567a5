"""Authoring and review tools on top of the facade: lint, fmt, diff, render, test + coverage, corpus.

Owns `lint` (the rules run over the declared fact domains), `fmt` (canonical layout), `diff`
(semantic diff and corpus impact), `render` (the regulation as a document), `testing` + `coverage` +
`testreport` (policy tests and their reports), `corpus` (synthetic tickets).

May import: the facade (`slapolicy.api`), `slapolicy.decide`, `slapolicy.language`,
`slapolicy.calendar`. Never imports `monitor`, `service` or `backends`.
"""
