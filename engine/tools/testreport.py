"""Reports of policy test runs (`slapolicy test --format ...`): text, json, junit, github.

`results` are slapolicy.tools.testing.CaseResult objects; `broken` lists the test files that could not be
read at all (file, message); `coverage` the per-policy entries of slapolicy.tools.coverage.coverage_report.
JUnit XML follows the schema Jenkins / GitLab / GitHub test reporters read: <testsuites> with one
<testsuite> per test file, one <testcase> per case (classname = policy, file and line attributes),
a <failure> per failed case; a file that cannot be read is an <error>. GitHub output uses workflow
commands (`::error file=F,line=L,title=T::message`), with the escapes GitHub documents.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import OrderedDict


def _by_file(results):
    groups: OrderedDict = OrderedDict()
    for r in results:
        groups.setdefault(r.file, []).append(r)
    return groups


def text(results, broken=(), coverage=None) -> str:
    lines = []
    for r in results:
        if not r.passed:
            lines.append(f"FAIL {r.file}:{r.line}: {r.name}")
            lines.extend(f"    {p}" for p in r.problems)
    for entry in coverage or ():
        lines.append(coverage_line(entry))
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed"
                 + (f", {len(broken)} test file(s) unreadable" if broken else ""))
    return "\n".join(lines)


def coverage_line(entry: dict) -> str:
    if entry.get("error"):
        return f"coverage {entry['policy']}: not computed ({entry['error']})"
    missed = entry["missed"]
    why = entry.get("why") or {}
    return (f"coverage {entry['policy']}: {entry['percent']:.0f}% of {entry['total']} rules and tiers"
            + (f"; never fired: {', '.join(missed)}" if missed else "")
            + "".join(f"\n    {rid}: {why[rid]}" for rid in missed if rid in why))


def as_json(results, broken=(), coverage=None) -> str:
    from slapolicy.tools import findings as report

    # every case is also a finding record (slapolicy.tools.findings: code, severity, message, file, line, column, rule)
    cases = [{**report.from_case(r), "file": r.file, "line": r.line, "name": r.name, "policy": r.policy,
              "passed": r.passed, "problems": r.problems} for r in results]
    if coverage is None and not broken:
        return json.dumps(cases, ensure_ascii=False, indent=2)  # the original shape: a list of cases
    findings = [c for c in cases if not c["passed"]] + [report.from_broken(f, m) for f, m in broken]
    return json.dumps({"cases": cases, "broken": [{"file": f, "message": m} for f, m in broken],
                       "coverage": coverage or [], "findings": findings}, ensure_ascii=False, indent=2)


def junit(results, broken=(), coverage=None) -> str:
    root = ET.Element("testsuites", name="slapolicy policy tests")
    total = failures = errors = 0
    for file, cases in _by_file(results).items():
        failed = [c for c in cases if not c.passed]
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(cases)), failures=str(len(failed)),
                              errors="0", skipped="0", file=file)
        for c in cases:
            case = ET.SubElement(suite, "testcase", name=c.name, classname=c.policy, file=c.file, line=str(c.line))
            if not c.passed:
                failure = ET.SubElement(case, "failure", message=c.problems[0] if c.problems else "failed", type="expectation")
                failure.text = "\n".join(c.problems)
        total += len(cases)
        failures += len(failed)
    for file, message in broken:
        suite = ET.SubElement(root, "testsuite", name=file, tests="1", failures="0", errors="1", skipped="0", file=file)
        case = ET.SubElement(suite, "testcase", name="load test file", classname=file, file=file)
        err = ET.SubElement(case, "error", message=message.splitlines()[0] if message else "unreadable", type="bad-input")
        err.text = message
        total += 1
        errors += 1
    if coverage:
        props = ET.Element("properties")
        for entry in coverage:
            ET.SubElement(props, "property", name=f"coverage.{entry['policy']}",
                          value="n/a" if entry.get("error") else f"{entry['percent']:.1f}")
        root.insert(0, props)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _data(value: str) -> str:
    return str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def github(results, broken=(), coverage=None, min_coverage=None) -> str:
    lines = []
    for r in results:
        if not r.passed:
            lines.append(f"::error file={_prop(r.file)},line={r.line},title={_prop('policy test failed: ' + r.name)}"
                         f"::{_data(chr(10).join(r.problems))}")
    for file, message in broken:
        lines.append(f"::error file={_prop(file)},title={_prop('test file unreadable')}::{_data(message)}")
    for entry in coverage or ():
        low = min_coverage is not None and not entry.get("error") and entry["percent"] < min_coverage
        level = "error" if low else "notice"
        lines.append(f"::{level} title={_prop('rule coverage ' + entry['policy'])}::{_data(coverage_line(entry))}")
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)


FORMATS = {"text": text, "json": as_json, "junit": junit, "github": github}
