"""One shape for what check, lint and test find, and SARIF 2.1.0 for code scanning.

A finding record (`--format json`, key `findings`) is
    {"code", "severity" (error | warning | info), "message", "file", "line", "column", "rule",
     "end_line", "end_column", ...extra}
with `rule` the policy rule (or tier, calendar...) the finding is about when there is one, else null.
Check diagnostics, lint findings and failed test cases all become such records; `sarif()` turns a
list of them into a SARIF log (one run, the rules being the codes), the format GitHub code scanning
uploads (github/codeql-action/upload-sarif).
"""
from __future__ import annotations

from pathlib import Path

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
INFORMATION_URI = "https://pypi.org/project/slapolicy/"


def record(code, severity, message, file, line, column, rule=None, end_line=None, end_column=None, **extra) -> dict:
    out = {"code": code, "severity": severity, "message": message, "file": file, "line": line, "column": column,
           "rule": rule, "end_line": end_line or line, "end_column": end_column or column + 1}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def _span_fields(span) -> dict:
    end_line = span.end_line or span.line
    end_col = span.end_col if span.end_col and (span.end_line, span.end_col) > (span.line, span.col) else span.col + 1
    return {"file": span.file, "line": span.line, "column": span.col, "end_line": end_line, "end_column": end_col}


def from_diagnostic(d, rule=None) -> dict:
    """A check diagnostic (slapolicy.language.diagnostics.Diagnostic) as a finding record."""
    return record(d.code, d.severity, d.message, rule=rule, hint=d.hint, **_span_fields(d.span))


def from_lint(f) -> dict:
    """A lint finding (slapolicy.tools.lint.findings.Finding) as a finding record."""
    return record(f.code, f.severity, f.message, rule=f.rule, related=list(f.related) or None, tickets=f.count,
                  example=f.example, **_span_fields(f.span))


def from_case(r) -> dict:
    """A test case result (slapolicy.tools.testing.CaseResult) as a finding record: test-passed / test-failed."""
    if r.passed:
        return record("test-passed", "info", r.name, r.file, r.line, 1, case=r.name, policy=r.policy)
    return record("test-failed", "error", f"{r.name}: " + "; ".join(r.problems), r.file, r.line, 1,
                  case=r.name, policy=r.policy)


def from_broken(file: str, message: str) -> dict:
    return record("test-file", "error", message, file, 1, 1)


def _uri(file: str) -> tuple[str, bool]:
    """(URI reference, relative?) of a file as the records name it."""
    p = Path(file)
    if p.is_absolute():
        return p.as_uri(), False
    return p.as_posix(), True


def sarif(records, tool: str = "slapolicy", descriptions: dict | None = None) -> dict:
    """A SARIF 2.1.0 log of finding records: one run, one reporting descriptor per code."""
    from slapolicy import __version__

    descriptions = descriptions or {}
    rules, index = [], {}
    for r in records:
        if r["code"] not in index:
            index[r["code"]] = len(rules)
            rules.append({"id": r["code"], "name": "".join(w.capitalize() for w in r["code"].split("-")),
                          "shortDescription": {"text": descriptions.get(r["code"]) or r["code"].replace("-", " ")},
                          "helpUri": "https://pypi.org/project/slapolicy/#diagnostics",
                          "defaultConfiguration": {"level": SARIF_LEVEL.get(r["severity"], "warning")}})
    results, relative = [], False
    for r in records:
        uri, rel = _uri(r["file"])
        relative = relative or rel
        location = {"physicalLocation": {
            "artifactLocation": {"uri": uri, **({"uriBaseId": "%SRCROOT%"} if rel else {})},
            "region": {"startLine": max(1, r["line"]), "startColumn": max(1, r["column"]),
                       "endLine": max(1, r["end_line"]), "endColumn": max(1, r["end_column"])}}}
        result = {"ruleId": r["code"], "ruleIndex": index[r["code"]], "level": SARIF_LEVEL.get(r["severity"], "warning"),
                  "message": {"text": r["message"] + (f" ({r['hint']})" if r.get("hint") else "")},
                  "locations": [location]}
        props = {k: r[k] for k in ("rule", "related", "tickets", "case", "policy") if r.get(k) is not None}
        if props:
            result["properties"] = props
        results.append(result)
    run = {"tool": {"driver": {"name": tool, "version": __version__, "semanticVersion": __version__,
                               "informationUri": INFORMATION_URI, "rules": rules}},
           "columnKind": "unicodeCodePoints", "results": results}
    if relative:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
