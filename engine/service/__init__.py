"""The HTTP service (`slapolicy serve`): the evaluator over HTTP, and the web workbench.

Owns `app` (the Starlette application and its routes), `http` (errors and JSON answers shared by the
API and the workbench), `store` (the served policies and their hot reload), `openapi`, `metrics`,
`render` (the regulation page), `workbench/` (the support lead's pages).

May import everything below it: the facade, `tools`, `monitor`, `decide`, `language`, `calendar`.
Nothing imports `service` but the CLI.
"""
