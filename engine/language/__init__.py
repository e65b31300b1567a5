"""The compiler: policy text in, a checked and compiled policy out.

Owns the stages up to the compiled policy: `source` (spans), `diagnostics` (coded, located errors),
`load` (YAML with positions), `schema` (the policy and ticket JSON Schemas), `parse` + `ast`
(expressions, lark), `types` (the type system and the ticket vocabulary it checks against), `check`
(names and types), `compile` (closures: the explaining path), `codegen` (generated code: the fast
path), `runtime` (the values both execute with), `builtins` (the functions of the language).

May import: `slapolicy.calendar` (calendars are compiled into policies). Never imports `decide`,
`monitor`, `tools`, `service`, `backends` or the facade.
"""
