"""Helpdesk adapters (issue 14): declarative mappings from a helpdesk's export to slapolicy tickets.

`mapping` loads and checks a mapping file (located diagnostics), `paths` parses and evaluates its paths,
`values` converts values (types, timestamps), `importer` maps the records. Format: README.md beside this file;
docs/adapters.md.
"""
