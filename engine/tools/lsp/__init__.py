"""`slapolicy lsp`: a language server for policy files over stdio (pygls).

  server.py      the pygls wiring: open / change / save -> diagnostics (check on every change, lint on
                 open and save), completion, definition, references, hover
  document.py    one open document: YAML positions (the loader's), expressions, where ids are defined and used
  completion.py  completion inside expressions and for tier / calendar / assumption ids
  navigation.py  go to definition, find references
  hover.py       the clause text of the regulation, the assumption text, a field's type and description

Only server.py imports pygls (the `lsp` extra); the rest is plain Python over slapolicy.language.
"""
