"""The live SLA monitor: ticket events in, alerts out (`slapolicy watch`).

Owns `watch` (the monitor over a stream of events) and `eventlog` (synthetic event streams).

May import: the facade (`slapolicy.api`), `slapolicy.decide`, `slapolicy.language`,
`slapolicy.calendar`. Never imports `tools`, `service` or `backends`.
"""
