"""The entry points: lint a policy text, a file, or the policy files under paths."""
from __future__ import annotations

import hashlib
from pathlib import Path

from slapolicy.language.diagnostics import Diagnostic
from slapolicy.tools.lint.analysis import Analysis
from slapolicy.tools.lint.findings import CHECKER_WARNINGS, DEFAULT_LIMIT, WARNING, Finding, LintResult


def lint_text(text: str, file: str, limit: int = DEFAULT_LIMIT, seed: int = 0) -> LintResult:
    """Lint one policy text. Check errors stop the analysis (they are returned in `diagnostics`),
    except a first-match list without a default rule: that is analysed and reported as a gap."""
    from slapolicy.language.check import check_policy
    from slapolicy.language.compile import compile_policy
    from slapolicy.language.diagnostics import PolicyError
    from slapolicy.language.load import load_yaml
    from slapolicy.language.schema import validate_policy

    try:
        loaded = load_yaml(text, file)
    except PolicyError as exc:  # excerpts only from the texts the error carries (none for a non-policy)
        return LintResult(file, exc.texts.get(file, ""), [], exc.diagnostics)
    problems = validate_policy(loaded)
    if problems:
        return LintResult(file, text, [], sorted(problems, key=Diagnostic.sort_key))
    checked = check_policy(loaded)
    from slapolicy.api import limit_problems

    blocking = [d for d in checked.errors if d.code != "no-default"] or limit_problems(checked)
    if blocking:
        return LintResult(file, text, [], sorted(blocking, key=Diagnostic.sort_key))
    compiled = compile_policy(checked, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    analysis = Analysis(checked, compiled, limit=limit, seed=seed)
    findings = analysis.run()
    for d in checked.diagnostics:
        if d.code in CHECKER_WARNINGS:
            findings.append(Finding(d.code, WARNING if d.code != "unused-tier" else WARNING, d.message, d.span))
    findings.sort(key=Finding.sort_key)
    return LintResult(file, text, findings, [], analysis.stats, compiled)


def lint_file(path, limit: int = DEFAULT_LIMIT, seed: int = 0) -> LintResult:
    from slapolicy.api import _display

    path = Path(path)
    file = _display(path)
    from slapolicy.language.diagnostics import PolicyError
    from slapolicy.language.load import read_policy_file

    try:
        text = read_policy_file(path, file)  # the one safe reader (regular files only, size capped)
    except PolicyError as exc:
        return LintResult(file, "", [], exc.diagnostics)
    return lint_text(text, file, limit, seed)


def lint_paths(paths, limit: int = DEFAULT_LIMIT, seed: int = 0) -> list[LintResult]:
    from slapolicy.api import policy_files

    return [lint_file(p, limit, seed) for p in policy_files(paths)]
